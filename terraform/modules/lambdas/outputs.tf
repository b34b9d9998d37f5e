output "function_names" {
  description = "Deployed function name by manifest function name."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_arns" {
  description = "Function ARN by manifest function name."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "function_invoke_arns" {
  description = "Invoke ARN (for API Gateway integrations) by manifest function name."
  value       = { for k, f in aws_lambda_function.this : k => f.invoke_arn }
}

output "role_arns" {
  description = "Execution role ARN by manifest function name."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "event_source_mapping_uuids" {
  description = "Event source mapping UUID by queue logical name."
  value       = { for k, m in aws_lambda_event_source_mapping.sqs : k => m.uuid }
}

output "http_functions" {
  description = "HTTP functions: manifest function name -> route prefix (the service segment after /v1)."
  value       = { for k, f in local.functions : k => f.route_prefix if f.kind == "http" }
}

output "function_crates" {
  description = "Crate (image) of each function by manifest function name: the Service dimension of its metrics."
  value       = { for k, f in local.functions : k => f.crate }
}

output "migrate_function_name" {
  description = "Name of the function that applies the database migrations (the deploy workflow invokes it once per deploy)."
  value       = aws_lambda_function.this["db_migrate_lambda"].function_name
}

output "relay_schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule driving the outbox relay."
  value       = aws_scheduler_schedule.outbox_relay.arn
}

output "reserved_concurrency_total" {
  description = "Sum of the functions' reserved concurrency in this environment."
  value       = local.reserved_total
}
