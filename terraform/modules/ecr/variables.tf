variable "name_prefix" {
  description = "Prefix of the repository names, e.g. \"shop-dev-\"."
  type        = string
}

variable "services" {
  description = "Service crates that get a repository (one image per crate)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key encrypting the images."
  type        = string
}

variable "keep_images" {
  description = "How many tagged images each repository keeps (older ones expire)."
  type        = number
  default     = 30
}

variable "force_delete" {
  description = "Allow deleting a repository that still holds images (dev only)."
  type        = bool
  default     = false
}
