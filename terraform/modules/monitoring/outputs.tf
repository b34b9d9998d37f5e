output "alarm_topic_arn" {
  description = "ARN of the alarm topic."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of every alarm."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.lambda_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dlq_depth : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.checkout_failed : a.alarm_name],
    [aws_cloudwatch_metric_alarm.api_5xx.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.server_errors : a.alarm_name],
    [aws_cloudwatch_metric_alarm.checkouts_failed.alarm_name, aws_cloudwatch_metric_alarm.checkouts_failed_unexpectedly.alarm_name],
    [aws_cloudwatch_metric_alarm.time_to_confirm.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.projection_lag : a.alarm_name],
    [aws_cloudwatch_metric_alarm.images_failed.alarm_name],
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the services' metrics."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch dashboard of the services' metrics."
  value       = aws_cloudwatch_dashboard.this.dashboard_arn
}
