output "state_bucket" {
  description = "Terraform state bucket: the TF_STATE_BUCKET variable of the GitHub environments, and -backend-config=\"bucket=...\" of terraform init."
  value       = aws_s3_bucket.state.id
}

output "state_kms_key_arn" {
  description = "KMS key encrypting the state bucket."
  value       = aws_kms_key.state.arn
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC identity provider."
  value       = local.oidc_arn
}

output "deploy_role_arns" {
  description = "Deploy role ARN by environment: the AWS_DEPLOY_ROLE_ARN variable of the GitHub environments <env> and <env>-plan."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "plan_role_arns" {
  description = "Read-only plan role ARN by environment: the AWS_PLAN_ROLE_ARN variable of the GitHub environment <env>-plan."
  value       = { for env, role in aws_iam_role.plan : env => role.arn }
}
