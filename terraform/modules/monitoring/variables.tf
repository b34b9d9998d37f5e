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

variable "thresholds" {
  description = "Alarm thresholds: Lambda errors and API 5xx per 5-minute period."
  type = object({
    lambda_errors = number
    api_5xx       = number
  })
  default = {
    lambda_errors = 1
    api_5xx       = 5
  }
}
