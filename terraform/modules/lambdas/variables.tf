variable "name_prefix" {
  description = "Prefix of every function, role and log group name, e.g. \"shop-dev-\"."
  type        = string
}

variable "app_env" {
  description = "APP_ENV handed to the services (dev | staging | prod)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.app_env)
    error_message = "app_env must be dev, staging or prod."
  }
}

variable "image_repository_urls" {
  description = "ECR repository URL by service crate (users, products, cart, orders, image_processor)."
  type        = map(string)
}

variable "image_tag" {
  description = "Image tag deployed to every function (the git sha pushed by the deploy workflow)."
  type        = string
}

variable "function_settings" {
  description = "Sizing of each function, keyed by function name (api_users_lambda, ...): memory (MB), timeout (s), reserved concurrency (null = unreserved) and queue_concurrency, the maximum_concurrency of each of its SQS event source mappings (null = sqs_batch.maximum_concurrency)."
  type = map(object({
    memory_size          = number
    timeout              = number
    reserved_concurrency = optional(number)
    queue_concurrency    = optional(number)
  }))

  validation {
    condition = alltrue([
      for name in ["api_users_lambda", "api_products_lambda", "api_cart_lambda", "api_orders_lambda", "image_processing_lambda", "checkout_worker_lambda", "outbox_relay_lambda", "db_migrate_lambda"] :
      contains(keys(var.function_settings), name)
    ])
    error_message = "function_settings must define api_users_lambda, api_products_lambda, api_cart_lambda, api_orders_lambda, image_processing_lambda, checkout_worker_lambda, outbox_relay_lambda and db_migrate_lambda."
  }

  validation {
    condition     = alltrue([for s in values(var.function_settings) : s.memory_size >= 128 && s.memory_size <= 10240 && s.timeout >= 1 && s.timeout <= 900])
    error_message = "memory_size must be 128..10240 MB and timeout 1..900 s."
  }

  validation {
    condition     = alltrue([for s in values(var.function_settings) : s.reserved_concurrency == null ? true : s.reserved_concurrency >= 1])
    error_message = "reserved_concurrency must be null (unreserved) or at least 1 (0 would throttle the function completely)."
  }

  # AWS: an SQS event source mapping's maximum_concurrency is 2..1000.
  validation {
    condition     = alltrue([for s in values(var.function_settings) : s.queue_concurrency == null ? true : s.queue_concurrency >= 2 && s.queue_concurrency <= 1000])
    error_message = "queue_concurrency (an SQS event source mapping's maximum_concurrency) must be null or 2..1000."
  }
}

variable "account_concurrency_limit" {
  description = "The account's Lambda concurrent-executions quota in this region, declared per environment: reservations must leave 100 of it unreserved."
  type        = number
}

variable "relay_schedule_expression" {
  description = "EventBridge Scheduler expression of the outbox relay."
  type        = string
  default     = "rate(1 minute)"
}

variable "subnet_ids" {
  description = "Private subnets the functions run in."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the functions."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the environment variables, the log groups and the encrypted resources the functions touch."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days."
  type        = number
}

variable "log_level" {
  description = "RUST_LOG filter of the services."
  type        = string
  default     = "info"
}

variable "database" {
  description = "Database access: the db secret (DATABASE_SECRET_ID) and the per-process pool size."
  type = object({
    secret_arn      = string
    max_connections = number
  })
}

variable "redis" {
  description = "Cache access: rediss:// URL without credentials and the AUTH token secret."
  type = object({
    url        = string
    secret_arn = string
  })
}

variable "dynamodb" {
  description = "DynamoDB tables: the name prefix (DYNAMODB_TABLE_PREFIX) and the ARN of each logical table."
  type = object({
    table_prefix = string
    table_arns   = map(string)
  })
}

variable "images" {
  description = "Images bucket name and ARN, the public (CloudFront) base URL of image links, and the key prefixes the processor writes (served by CloudFront; never raw/)."
  type = object({
    bucket_name        = string
    bucket_arn         = string
    public_base_url    = string
    processed_prefixes = list(string)
  })

  validation {
    condition     = alltrue([for p in var.images.processed_prefixes : !startswith(p, "raw/") && endswith(p, "/")])
    error_message = "processed_prefixes end with / and never include raw/."
  }
}

variable "messaging" {
  description = "Queues and topics by logical name (from sns_sqs)."
  type = object({
    queue_urls                = map(string)
    queue_arns                = map(string)
    queue_visibility_timeouts = map(number)
    topic_arns                = map(string)
  })
}

variable "checkout_state_machine_arn" {
  description = "ARN of the checkout_workflow state machine (CHECKOUT_STATE_MACHINE_ARN)."
  type        = string
}

variable "cognito" {
  description = "Cognito user pool and app client the services verify tokens against (COGNITO_*)."
  type = object({
    user_pool_id  = string
    user_pool_arn = string
    client_id     = string
    issuer        = string
    jwks_url      = string
    auto_confirm  = bool
  })
}

variable "sqs_batch" {
  description = "SQS event source mapping batching, shared by both mappings."
  type = object({
    batch_size                         = number
    maximum_batching_window_in_seconds = number
    maximum_concurrency                = number
  })
  default = {
    batch_size                         = 10
    maximum_batching_window_in_seconds = 1
    maximum_concurrency                = 5
  }
}

variable "service_tuning" {
  description = "Latency budgets and the in-process cache tier of every function, in milliseconds: AWS_TIMEOUT_MS (one AWS SDK call on a request path, retries included), REQUEST_TIMEOUT_MS (a request's deadline, answered 503 DEPENDENCY_UNAVAILABLE past it; must end before the HTTP functions' timeout and the 29 s API Gateway integration timeout) and CACHE_LOCAL_TTL_MS (rendered product responses kept in process; 0 = off)."
  type = object({
    aws_timeout_ms     = number
    request_timeout_ms = number
    cache_local_ttl_ms = number
  })
  default = {
    aws_timeout_ms     = 800
    request_timeout_ms = 2000
    cache_local_ttl_ms = 1000
  }

  # config.rs parses each as a u64: a non-negative integer.
  validation {
    condition     = alltrue([for v in values(var.service_tuning) : v >= 0 && floor(v) == v])
    error_message = "aws_timeout_ms, request_timeout_ms and cache_local_ttl_ms must be non-negative integers (milliseconds)."
  }

  # The api_gateway module's integration timeout is 29000 ms (API Gateway allows at most 30000).
  validation {
    condition     = var.service_tuning.request_timeout_ms < 29000
    error_message = "request_timeout_ms must be below 29000, the API Gateway integration timeout: past it the client gets API Gateway's 503, not the service's error envelope."
  }
}

variable "extra_environment" {
  description = "Additional environment variables given to every function (e.g. CACHE_TTL_SECONDS)."
  type        = map(string)
  default     = {}
}
