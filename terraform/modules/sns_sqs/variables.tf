variable "name_prefix" {
  description = "Prefix of every topic and queue name, e.g. \"shop-dev-\"."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for SNS and SQS server-side encryption."
  type        = string
}

variable "images_bucket_arn" {
  description = "ARN of the images bucket, the only publisher allowed on image-uploads besides the account."
  type        = string
}

variable "message_retention_seconds" {
  description = "Retention of messages in the work queues and in the dead-letter queues."
  type = object({
    queue = number
    dlq   = number
  })
  default = {
    queue = 345600
    dlq   = 1209600
  }
}
