output "api_id" {
  description = "Id of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Invoke URL of the HTTP API (the $default stage), e.g. https://abc.execute-api.us-east-1.amazonaws.com."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "api_execution_arn" {
  description = "Execution ARN of the HTTP API."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "stage_name" {
  description = "Name of the stage."
  value       = aws_apigatewayv2_stage.default.name
}

output "route_keys" {
  description = "Every route key, with whether it requires the JWT authorizer."
  value = merge(
    { for k, r in aws_apigatewayv2_route.protected : k => "JWT" },
    { for k, r in aws_apigatewayv2_route.public : k => "NONE" },
  )
}
