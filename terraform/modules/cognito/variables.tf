variable "name_prefix" {
  description = "Prefix of the pool and client names, e.g. \"shop-dev-\"."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the user pool against deletion (prod)."
  type        = bool
}

variable "advanced_security_mode" {
  description = "Cognito threat protection: OFF, AUDIT or ENFORCED (AUDIT and ENFORCED put the pool on the PLUS tier, billed per monthly active user)."
  type        = string
  default     = "AUDIT"

  validation {
    condition     = contains(["OFF", "AUDIT", "ENFORCED"], var.advanced_security_mode)
    error_message = "advanced_security_mode must be OFF, AUDIT or ENFORCED."
  }
}

variable "email" {
  description = "SES sender of the pool's mails: ses_identity (a verified SES domain or e-mail address in this region, out of the SES sandbox) and from_address; null = Cognito's default sender (50 mails a day, for dev only)."
  type = object({
    ses_identity = string
    from_address = string
  })
  default = null
}
