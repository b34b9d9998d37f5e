variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"shop-dev-\"."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; subnets are carved from it with cidrsubnet(/4)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "availability_zones" {
  description = "Availability zones to spread the subnets over (at least 2, for RDS and Redis subnet groups)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "At least two availability zones are required."
  }
}

variable "nat_gateway" {
  description = "Outbound internet for the private subnets: enabled, and one NAT per AZ (true) or a single shared one (false)."
  type = object({
    enabled    = bool
    one_per_az = bool
  })
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints from the private subnets (service short names, e.g. \"sqs\")."
  type        = list(string)
  default     = ["sqs", "sns", "secretsmanager", "states", "cognito-idp", "kms"]
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
}

variable "kms_key_arn" {
  description = "KMS key encrypting the flow log group."
  type        = string
}
