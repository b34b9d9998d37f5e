variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"shop-dev-\"."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (at least two AZs) for the instance and the proxy."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the instance (ingress from the proxy only)."
  type        = string
}

variable "proxy_security_group_id" {
  description = "Security group of the RDS Proxy (ingress from the Lambdas only)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and log encryption."
  type        = string
}

variable "master_username" {
  description = "Master user name (also the application user behind the proxy)."
  type        = string
}

variable "master_password" {
  description = "Master password, read back from the db secret by the secrets module (sent write-only)."
  type        = string
  sensitive   = true
}

variable "master_password_version" {
  description = "Raised whenever master_password changes (the secrets module's credentials_version): write-only arguments are sent only when their version changes."
  type        = number
  default     = 1
}

variable "db_secret_arn" {
  description = "Secret {username,password,...} RDS Proxy authenticates with."
  type        = string
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
}

variable "settings" {
  description = "Per-environment sizing and safety of the instance."
  type = object({
    instance_class          = string
    allocated_storage       = number
    max_allocated_storage   = number
    multi_az                = bool
    deletion_protection     = bool
    backup_retention_period = number
    skip_final_snapshot     = bool
    log_retention_days      = number
  })

  validation {
    condition     = var.settings.backup_retention_period >= 1
    error_message = "Backups are required: backup_retention_period must be at least 1."
  }
}
