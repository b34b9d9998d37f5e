variable "bucket_name" {
  description = "Globally unique name of the images bucket (IMAGES_BUCKET)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption of the images."
  type        = string
}

variable "upload_topic_arn" {
  description = "SNS topic (image-uploads) notified of every object created under raw/."
  type        = string
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to PUT presigned uploads and GET images."
  type        = list(string)
}

variable "raw_expiration_days" {
  description = "Days after which original uploads under raw/ are deleted (processed copies stay)."
  type        = number

  validation {
    condition     = var.raw_expiration_days >= 1
    error_message = "raw_expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket (dev only)."
  type        = bool
  default     = false
}

variable "cdn_read" {
  description = "The CloudFront distribution (ARN) allowed to read the bucket through origin access control, and the key prefixes it may read (never raw/)."
  type = object({
    distribution_arn = string
    prefixes         = list(string)
  })

  validation {
    condition     = length(var.cdn_read.prefixes) > 0 && alltrue([for p in var.cdn_read.prefixes : p != "" && !startswith(p, "raw") && endswith(p, "/")])
    error_message = "cdn_read.prefixes are non-empty prefixes ending with / and never raw/."
  }
}
