variable "project" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "shop"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.project))
    error_message = "project must be 2-16 lowercase letters or digits."
  }
}

variable "environment" {
  description = "Deployment environment; also APP_ENV of the services and the Terraform workspace."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "aws_region" {
  description = "AWS region of the deployment."
  type        = string
}

variable "image_tag" {
  description = "Tag of the service images to deploy (the deploy workflow passes the git sha)."
  type        = string
  default     = "latest"
}

variable "network" {
  description = "VPC layout: CIDR, availability zones (at least 2), NAT gateways."
  type = object({
    vpc_cidr           = string
    availability_zones = list(string)
    nat_gateway = object({
      enabled    = bool
      one_per_az = bool
    })
  })
}

variable "rds" {
  description = "PostgreSQL instance sizing and safety."
  type = object({
    instance_class          = string
    allocated_storage       = number
    max_allocated_storage   = number
    multi_az                = bool
    deletion_protection     = bool
    backup_retention_period = number
    skip_final_snapshot     = bool
  })
}

variable "redis" {
  description = "ElastiCache Redis sizing."
  type = object({
    node_type                = string
    num_cache_clusters       = number
    snapshot_retention_limit = number
  })
}

variable "lambda_functions" {
  description = "Memory (MB), timeout (s) and reserved concurrency of each function, keyed by manifest function name."
  type = map(object({
    memory_size          = number
    timeout              = number
    reserved_concurrency = number
  }))
}

variable "database_max_connections" {
  description = "DATABASE_MAX_CONNECTIONS: pool size per Lambda process (RDS Proxy multiplexes)."
  type        = number
  default     = 5
}

variable "log_level" {
  description = "RUST_LOG filter of the services."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch accepts."
  }
}

variable "api_throttling" {
  description = "Default route throttling of the API stage."
  type = object({
    burst_limit = number
    rate_limit  = number
  })
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed by the API and the images bucket (presigned PUT)."
  type        = list(string)
}

variable "images" {
  description = "Images bucket: days before raw/ uploads expire, and the public base URL of image links (empty: the bucket's regional URL)."
  type = object({
    raw_expiration_days = number
    public_base_url     = string
  })
  default = {
    raw_expiration_days = 7
    public_base_url     = ""
  }
}

variable "cognito" {
  description = "Cognito options: auto-confirm sign-ups (dev only) and threat protection mode."
  type = object({
    auto_confirm           = bool
    advanced_security_mode = string
  })
}

variable "protect_data" {
  description = "Deletion protection of tables and user pool, no force-destroy of buckets and repositories, secret recovery window."
  type        = bool
}

variable "ecr_keep_images" {
  description = "Images kept per ECR repository."
  type        = number
  default     = 30
}

variable "alarm_emails" {
  description = "E-mail addresses notified of alarms."
  type        = list(string)
  default     = []
}

variable "domain_name" {
  description = "Public host name of the API behind CloudFront; empty: no CloudFront, ACM or Route 53 records."
  type        = string
  default     = ""
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone of domain_name (required when domain_name is set)."
  type        = string
  default     = ""
}

variable "state_machine_definition_file" {
  description = "ASL definition of checkout_workflow, relative to the terraform/ directory."
  type        = string
  default     = "../statemachines/checkout_workflow.asl.json"
}
