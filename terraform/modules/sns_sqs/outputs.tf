output "topic_arns" {
  description = "Topic ARN by logical name (image-uploads, order-events); available once the topic policies exist."
  value       = { for k, t in aws_sns_topic.this : k => t.arn }

  depends_on = [aws_sns_topic_policy.this]
}

output "queue_urls" {
  description = "Queue URL by logical name (image-processing, fulfillment, checkout-tasks)."
  value       = { for k, q in aws_sqs_queue.this : k => q.id }
}

output "queue_arns" {
  description = "Queue ARN by logical name."
  value       = { for k, q in aws_sqs_queue.this : k => q.arn }
}

output "queue_visibility_timeouts" {
  description = "Visibility timeout (seconds) by logical queue name, to bound consumer timeouts."
  value       = { for k, q in aws_sqs_queue.this : k => q.visibility_timeout_seconds }
}

output "dlq_names" {
  description = "Dead-letter queue name by logical name of its source queue."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.name }
}

output "dlq_arns" {
  description = "Dead-letter queue ARN by logical name of its source queue."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.arn }
}
