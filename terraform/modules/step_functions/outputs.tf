output "state_machine_arn" {
  description = "ARN of the checkout_workflow state machine (CHECKOUT_STATE_MACHINE_ARN)."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "role_arn" {
  description = "ARN of the state machine's execution role."
  value       = aws_iam_role.this.arn
}
