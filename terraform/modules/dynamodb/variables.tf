variable "name_prefix" {
  description = "Prefix of every table name (DYNAMODB_TABLE_PREFIX), e.g. \"shop-dev-\"."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption of the tables."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the tables against deletion (prod)."
  type        = bool
}
