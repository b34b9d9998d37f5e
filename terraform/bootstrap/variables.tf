variable "project" {
  description = "Project name, the first part of every name (as in the main root module)."
  type        = string
  default     = "shop"
}

variable "aws_region" {
  description = "Region of the state bucket (and of the deployments, as in backend/<env>.hcl)."
  type        = string
  default     = "us-east-1"
}

variable "github_repository" {
  description = "The GitHub repository that deploys, as owner/name: only its workflows, in its GitHub environments, may assume the deploy roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "environments" {
  description = "Environments deployed from this account; each gets a deploy role trusted by the GitHub environments <env> (apply) and <env>-plan (images, plan)."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = alltrue([for e in var.environments : contains(["dev", "staging", "prod"], e)])
    error_message = "environments are dev, staging and/or prod."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider (false when the account already has token.actions.githubusercontent.com)."
  type        = bool
  default     = true
}

variable "state_bucket_name" {
  description = "Name of the Terraform state bucket; empty: <project>-tfstate-<account id>-<region>."
  type        = string
  default     = ""
}

variable "deploy_session_seconds" {
  description = "Maximum session of the deploy roles, in seconds: the apply job's role-duration-seconds (.github/workflows/deploy.yml) must fit in it, and a first prod apply (Multi-AZ RDS, RDS Proxy, ElastiCache, CloudFront) can take well over an hour."
  type        = number
  default     = 14400

  validation {
    condition     = var.deploy_session_seconds >= 3600 && var.deploy_session_seconds <= 43200
    error_message = "deploy_session_seconds must be 3600..43200 (IAM's range for max_session_duration)."
  }
}
