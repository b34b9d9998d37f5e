variable "name_prefix" {
  description = "Prefix of the resource names, e.g. \"shop-prod-\"."
  type        = string
}

variable "bucket_name" {
  description = "Name of the images bucket (for descriptions)."
  type        = string
}

variable "bucket_regional_domain_name" {
  description = "Regional domain name of the images bucket, the distribution's origin."
  type        = string
}

variable "domain_name" {
  description = "Optional custom host name of the images (e.g. images.shop.example.com); empty: the cloudfront.net name."
  type        = string
  default     = ""
}

variable "hosted_zone_id" {
  description = "Route 53 public hosted zone of domain_name (required when domain_name is set)."
  type        = string
  default     = ""

  validation {
    condition     = var.hosted_zone_id == "" || can(regex("^Z[A-Z0-9]+$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be a Route 53 zone id (Z...)."
  }
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}
