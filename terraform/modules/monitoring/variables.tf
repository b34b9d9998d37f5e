variable "name_prefix" {
  description = "Prefix of the alarm and topic names, e.g. \"shop-dev-\"."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the alarm topic."
  type        = string
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "function_names" {
  description = "Deployed Lambda function name by manifest function name."
  type        = map(string)
}

variable "dlq_names" {
  description = "Dead-letter queue name by logical name of its source queue."
  type        = map(string)
}

variable "state_machine_arn" {
  description = "ARN of the checkout_workflow state machine (alarms on failed and timed-out executions)."
  type        = string
}

variable "api_id" {
  description = "Id of the HTTP API."
  type        = string
}

variable "environment" {
  description = "APP_ENV of the services (dev | staging | prod): the Environment dimension of their metrics in namespace Shop."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod (the APP_ENV the lambdas module sets)."
  }
}

variable "http_services" {
  description = "Service dimension (the crate) of each HTTP function's request metrics; one ServerErrors alarm each."
  type        = set(string)
}

variable "thresholds" {
  description = "Alarm thresholds (null or omitted: the default): Lambda errors, API 5xx, a service's ServerErrors, CheckoutsFailed (any reason) and ImagesFailed per 5-minute period; TimeToConfirm p99 and ProjectionLag maximum in milliseconds."
  type = object({
    lambda_errors          = optional(number, 1)
    api_5xx                = optional(number, 5)
    server_errors          = optional(number, 5)
    checkouts_failed       = optional(number, 10)
    images_failed          = optional(number, 5)
    time_to_confirm_p99_ms = optional(number, 30000)
    projection_lag_ms      = optional(number, 120000)
  })
  default = {}
}
