output "user_pool_id" {
  description = "Id of the user pool (COGNITO_USER_POOL_ID)."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "user_pool_issuer" {
  description = "Token issuer (COGNITO_ISSUER): https://cognito-idp.<region>.amazonaws.com/<pool id>."
  value       = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}"
}

output "user_pool_jwks_url" {
  description = "JWKS of the pool (COGNITO_JWKS_URL)."
  value       = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}/.well-known/jwks.json"
}

output "app_client_id" {
  description = "Id of the public app client (COGNITO_CLIENT_ID), the JWT authorizer's audience."
  value       = aws_cognito_user_pool_client.app.id
}

output "admin_group_name" {
  description = "Name of the administrators' group."
  value       = aws_cognito_user_group.admin.name
}

output "user_pool_tier" {
  description = "Feature plan of the pool: PLUS when threat protection is on, else ESSENTIALS."
  value       = aws_cognito_user_pool.this.user_pool_tier
}
