variable "name_prefix" {
  description = "Prefix of the state machine, role and log group names, e.g. \"shop-dev-\"."
  type        = string
}

variable "definition_file" {
  description = "Path of the ASL definition (statemachines/checkout_workflow.asl.json), rendered with templatefile()."
  type        = string
}

variable "task_queue" {
  description = "The checkout-tasks queue the workflow hands steps to (sqs:sendMessage.waitForTaskToken)."
  type = object({
    url = string
    arn = string
  })
}

variable "topic_arns" {
  description = "Topic ARN by logical name; the workflow publishes to order-events."
  type        = map(string)
}

variable "queues" {
  description = "Every queue by logical name (url, arn), offered to the definition as placeholders."
  type = map(object({
    url = string
    arn = string
  }))
}

variable "tables" {
  description = "DynamoDB table name and ARN by logical name; the workflow writes OrderEvents."
  type = map(object({
    name = string
    arn  = string
  }))
}

variable "template_values" {
  description = "Extra placeholder values for the definition (e.g. IMAGES_BUCKET), merged over the generated ones."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "KMS key of the encrypted queue, topic, table and log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the execution log group, in days."
  type        = number
}

variable "log_level" {
  description = "Execution logging level: ALL, ERROR or FATAL."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}
