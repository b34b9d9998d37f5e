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
  description = "Tag of the service images to deploy: the full 40-hex commit SHA the deploy workflow pushed (the repositories' tags are immutable; no default, no `latest`)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.image_tag))
    error_message = "image_tag must be the 40-hex commit SHA whose images the deploy workflow pushed."
  }
}

variable "network" {
  description = "VPC layout: CIDR, availability zones by AZ ID (at least 2; use1-az1, not us-east-1a: names map to different physical zones per account, and data.aws_availability_zones checks the account offers each ID), NAT gateways (0, 1 shared, or one per AZ; each holds one Elastic IP of the region's quota, elastic_ip_quota)."
  type = object({
    vpc_cidr              = string
    availability_zone_ids = list(string)
    nat_gateways          = number
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
  description = "Memory (MB), timeout (s), reserved concurrency (null = unreserved) and queue_concurrency (the maximum_concurrency of each of the function's SQS event source mappings, 2..1000; null = 5; their sum must stay within reserved_concurrency) of each function, keyed by function name."
  type = map(object({
    memory_size          = number
    timeout              = number
    reserved_concurrency = optional(number)
    queue_concurrency    = optional(number)
  }))
}

variable "aws_account" {
  description = "Names the AWS account this environment deploys to (a label, not the id; no default: an explicit choice). Environments with the same aws_account and aws_region share that account's regional quotas (Lambda concurrency, Elastic IPs): they must declare the same lambda_account_concurrency_limit and elastic_ip_quota, and tests/infra checks their sums. terraform/bootstrap's default puts dev, staging and prod in one account."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.aws_account))
    error_message = "aws_account is a label of 1-32 lowercase letters, digits or hyphens."
  }
}

variable "elastic_ip_quota" {
  description = "The account's Elastic IP quota in aws_region (EC2-VPC Elastic IPs, L-0263D0A3; 5 by default), declared per environment like lambda_account_concurrency_limit. Each NAT gateway holds one; the environments of one account and region share it."
  type        = number

  validation {
    condition     = var.elastic_ip_quota >= 1
    error_message = "elastic_ip_quota is the account's regional Elastic IP quota (at least 1)."
  }

  validation {
    condition     = var.network.nat_gateways <= var.elastic_ip_quota
    error_message = "network.nat_gateways needs one Elastic IP each: more than the declared elastic_ip_quota."
  }
}

variable "lambda_account_concurrency_limit" {
  description = "The account's Lambda concurrent-executions quota in aws_region, declared per environment (no default: an explicit choice). Reserved concurrency must leave 100 of it unreserved; a new account may start far below 1000 (Service Quotas, L-B99A9384)."
  type        = number

  validation {
    condition     = var.lambda_account_concurrency_limit >= 10
    error_message = "lambda_account_concurrency_limit is the account quota (at least 10)."
  }

  # AWS refuses a reservation that leaves fewer than 100 unreserved executions.
  validation {
    condition = alltrue([
      for total in [sum(concat([0], [for f in values(var.lambda_functions) : f.reserved_concurrency if f.reserved_concurrency != null]))] :
      total == 0 || total + 100 <= var.lambda_account_concurrency_limit
    ])
    error_message = "The functions' reserved_concurrency must total at most lambda_account_concurrency_limit - 100: raise the account's quota (and this declaration) or reserve less."
  }
}

variable "database_max_connections" {
  description = "DATABASE_MAX_CONNECTIONS: pool size per Lambda process (RDS Proxy multiplexes)."
  type        = number
  default     = 5
}

variable "aws_timeout_ms" {
  description = "AWS_TIMEOUT_MS: the whole budget of one AWS SDK call on a request path, retries included (queue long polls, S3 image transfers and Step Functions callbacks have their own background timeouts). 0 counts as 1 ms."
  type        = number
  default     = 800

  validation {
    condition     = var.aws_timeout_ms >= 0 && floor(var.aws_timeout_ms) == var.aws_timeout_ms
    error_message = "aws_timeout_ms must be a non-negative integer (milliseconds)."
  }
}

variable "request_timeout_ms" {
  description = "REQUEST_TIMEOUT_MS: a request's deadline; past it the client gets 503 DEPENDENCY_UNAVAILABLE. Must end before the HTTP functions' timeout and the API Gateway integration timeout (29000 ms). 0 counts as 1 ms."
  type        = number
  default     = 2000

  validation {
    condition     = var.request_timeout_ms >= 0 && floor(var.request_timeout_ms) == var.request_timeout_ms
    error_message = "request_timeout_ms must be a non-negative integer (milliseconds)."
  }

  # API Gateway allows integrations 30000 ms at most; the api_gateway module sets 29000.
  validation {
    condition     = var.request_timeout_ms < 29000
    error_message = "request_timeout_ms must be below 29000, the API Gateway integration timeout: past it the client gets API Gateway's 503, not the service's error envelope."
  }

  # The HTTP functions (api_*_lambda) must still be running to answer 503.
  validation {
    condition = alltrue([
      for name, f in var.lambda_functions : var.request_timeout_ms < f.timeout * 1000 if startswith(name, "api_")
    ])
    error_message = "request_timeout_ms must be below every HTTP function's timeout (lambda_functions.api_*_lambda.timeout x 1000): lower it or raise the timeouts."
  }
}

variable "cache_local_ttl_ms" {
  description = "CACHE_LOCAL_TTL_MS: how long a process keeps rendered product responses (GET /v1/products/{id}, listings) in front of Redis; 0 = off. A write clears it at once in its own process; other instances may serve the old response up to this long."
  type        = number
  default     = 1000

  validation {
    condition     = var.cache_local_ttl_ms >= 0 && floor(var.cache_local_ttl_ms) == var.cache_local_ttl_ms
    error_message = "cache_local_ttl_ms must be a non-negative integer (milliseconds; 0 = off)."
  }
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
  description = "Images: days before raw/ uploads expire; optional custom domain of the CloudFront distribution serving the processed images (empty: its cloudfront.net name; a domain needs hosted_zone_id)."
  type = object({
    raw_expiration_days = number
    domain_name         = optional(string, "")
  })
  default = {
    raw_expiration_days = 7
    domain_name         = ""
  }
}

variable "cognito" {
  description = "Cognito options: auto-confirm sign-ups (dev only), threat protection mode (AUDIT or ENFORCED put the pool on the PLUS tier) and email, the SES sender of its mails (verification codes, password resets): ses_identity (a verified SES domain or address in aws_region) and from_address. Without it Cognito's default sender allows 50 mails a day, so prod requires it."
  type = object({
    auto_confirm           = bool
    advanced_security_mode = string
    email = optional(object({
      ses_identity = string
      from_address = string
    }))
  })

  validation {
    condition     = var.environment != "prod" || var.cognito.email != null
    error_message = "prod needs cognito.email (an SES identity and a from address): Cognito's default sender allows 50 mails a day."
  }
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

variable "alarm_thresholds" {
  description = "Alarm thresholds; unset ones keep the monitoring module's defaults (per 5 minutes: lambda_errors 1, api_5xx 5, server_errors 5 per service, checkouts_failed 10, images_failed 5; time_to_confirm_p99_ms 30000, projection_lag_ms 120000)."
  type = object({
    lambda_errors          = optional(number)
    api_5xx                = optional(number)
    server_errors          = optional(number)
    checkouts_failed       = optional(number)
    images_failed          = optional(number)
    time_to_confirm_p99_ms = optional(number)
    projection_lag_ms      = optional(number)
  })
  default = {}
}

variable "domain_name" {
  description = "Public host name of the API behind CloudFront; empty: no CloudFront, ACM or Route 53 records."
  type        = string
  default     = ""
}

variable "hosted_zone_id" {
  description = "Route 53 hosted zone of domain_name and images.domain_name (required when either is set)."
  type        = string
  default     = ""
}

variable "state_machine_definition_file" {
  description = "ASL definition of checkout_workflow, relative to the terraform/ directory."
  type        = string
  default     = "../statemachines/checkout_workflow.asl.json"
}
