variable "name_prefix" {
  description = "Prefix of the resource names, e.g. \"shop-prod-\"."
  type        = string
}

variable "domain_name" {
  description = "Public host name of the API (e.g. api.shop.example.com)."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route 53 public hosted zone that holds domain_name."
  type        = string
}

variable "api_endpoint" {
  description = "Invoke URL of the HTTP API (https://<id>.execute-api.<region>.amazonaws.com)."
  type        = string
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes from one IP before the WAF blocks it."
  type        = number
  default     = 2000
}
