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

variable "availability_zone_ids" {
  description = "AZ IDs (e.g. use1-az1) to spread the subnets over, at least 2 (for the RDS and Redis subnet groups). IDs, not names: a name maps to a different physical zone in each account; the data source checks the account offers each ID."
  type        = list(string)

  validation {
    condition     = length(var.availability_zone_ids) >= 2 && length(distinct(var.availability_zone_ids)) == length(var.availability_zone_ids)
    error_message = "availability_zone_ids: at least two distinct AZ IDs."
  }

  validation {
    condition     = alltrue([for id in var.availability_zone_ids : can(regex("^[a-z]+[0-9]+-az[0-9]+$", id))])
    error_message = "availability_zone_ids are AZ IDs such as use1-az1 (not names such as us-east-1a)."
  }
}

variable "nat_gateways" {
  description = "NAT gateways (each with one Elastic IP) for the private subnets' outbound traffic: 0 (none), 1 (shared) or one per AZ."
  type        = number

  validation {
    condition     = contains([0, 1, length(var.availability_zone_ids)], var.nat_gateways)
    error_message = "nat_gateways must be 0, 1 or one per AZ (the number of availability_zone_ids)."
  }
}

# Only the APIs that code running in the VPC calls (tests/infra derives them
# from the functions' code): Secrets Manager (database credentials and the
# Redis AUTH token; also the RDS Proxy), Step Functions (the checkout saga)
# and Cognito (users). No function calls SNS, SQS or KMS itself: the queues
# reach the functions through event source mappings (the Lambda service
# polls them), SNS publishers are S3/Step Functions/CloudWatch, and KMS is
# used server-side by the services that encrypt.
variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints from the private subnets (service short names, e.g. \"states\"): only those the code in the VPC calls."
  type        = list(string)
  default     = ["secretsmanager", "states", "cognito-idp"]
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
}

variable "kms_key_arn" {
  description = "KMS key encrypting the flow log group."
  type        = string
}
