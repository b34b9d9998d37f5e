variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"shop-dev-\"."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the secrets."
  type        = string
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once; dev only)."
  type        = number
  default     = 30
}

variable "database" {
  description = "Connection facts written into the db secret next to the generated password. host is the RDS Proxy endpoint."
  type = object({
    username = string
    dbname   = string
    host     = string
    port     = number
  })
}

variable "credentials_version" {
  description = "Version of the generated credentials: raising it generates new ones and writes them to the secrets (and the database's master password)."
  type        = number
  default     = 1
}
