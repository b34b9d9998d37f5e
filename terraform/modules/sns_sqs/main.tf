# Owns the messaging of scripts/aws_resources.json: the SNS topics, the SQS
# work queues with their dead-letter queues (redrive with the manifest's
# maxReceiveCount), the SNS -> SQS subscriptions, the queue policies that let
# only the subscribed topic send, and the topic policy that lets the images
# bucket publish. Consumers' IAM belongs to the lambdas/step_functions modules.
data "aws_caller_identity" "current" {}

locals {
  topics = toset(["image-uploads", "order-events"])

  queues = {
    "image-processing" = { dlq = "image-processing-dlq", max_receive_count = 5, visibility_timeout = 60, subscribe_to = "image-uploads" }
    "fulfillment"      = { dlq = "fulfillment-dlq", max_receive_count = 5, visibility_timeout = 30, subscribe_to = "order-events" }
    "checkout-tasks"   = { dlq = "checkout-tasks-dlq", max_receive_count = 5, visibility_timeout = 30, subscribe_to = null }
  }

  subscribed = { for name, q in local.queues : name => q if q.subscribe_to != null }
}

resource "aws_sns_topic" "this" {
  for_each          = local.topics
  name              = "${var.name_prefix}${each.key}"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "topic" {
  for_each = local.topics

  statement {
    sid       = "AccountPublish"
    actions   = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"]
    resources = [aws_sns_topic.this[each.key].arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "image-uploads" ? [1] : []
    content {
      sid       = "ImagesBucketPublish"
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.this[each.key].arn]

      principals {
        type        = "Service"
        identifiers = ["s3.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = [var.images_bucket_arn]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  for_each = local.topics
  arn      = aws_sns_topic.this[each.key].arn
  policy   = data.aws_iam_policy_document.topic[each.key].json
}

resource "aws_sqs_queue" "dlq" {
  for_each                  = local.queues
  name                      = "${var.name_prefix}${each.value.dlq}"
  message_retention_seconds = var.message_retention_seconds.dlq
  kms_master_key_id         = var.kms_key_arn
}

resource "aws_sqs_queue" "this" {
  for_each                   = local.queues
  name                       = "${var.name_prefix}${each.key}"
  visibility_timeout_seconds = each.value.visibility_timeout
  message_retention_seconds  = var.message_retention_seconds.queue
  receive_wait_time_seconds  = 20
  kms_master_key_id          = var.kms_key_arn

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each  = local.queues
  queue_url = aws_sqs_queue.dlq[each.key].id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}

data "aws_iam_policy_document" "queue" {
  for_each = local.subscribed

  statement {
    sid       = "OnlyFromTopic"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.this[each.value.subscribe_to].arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  for_each  = local.subscribed
  queue_url = aws_sqs_queue.this[each.key].id
  policy    = data.aws_iam_policy_document.queue[each.key].json
}

# The subscriber receives the SNS envelope (not raw delivery), exactly as the
# local emulator delivers it, so one parser serves both.
resource "aws_sns_topic_subscription" "this" {
  for_each             = local.subscribed
  topic_arn            = aws_sns_topic.this[each.value.subscribe_to].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.this[each.key].arn
  raw_message_delivery = false

  depends_on = [aws_sqs_queue_policy.this]
}
