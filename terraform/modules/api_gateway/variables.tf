variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"shop-dev-\"."
  type        = string
}

variable "services" {
  description = "HTTP services: route prefix (the segment after /v1) -> the function serving it."
  type = map(object({
    function_name       = string
    function_invoke_arn = string
  }))
}

variable "jwt" {
  description = "Cognito JWT authorizer: token issuer and accepted audiences (the app client id)."
  type = object({
    issuer    = string
    audiences = list(string)
  })
}

variable "cors" {
  description = "CORS of the API for browser clients."
  type = object({
    allow_origins = list(string)
    max_age       = number
  })
}

variable "throttling" {
  description = "Default route throttling of the stage."
  type = object({
    burst_limit = number
    rate_limit  = number
  })
}

variable "log_retention_days" {
  description = "Retention of the access log group, in days."
  type        = number
}

variable "kms_key_arn" {
  description = "KMS key encrypting the access log group."
  type        = string
}
