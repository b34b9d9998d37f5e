//! The checkout workflow in Step Functions: starting an execution (named after the order, so
//! a retried start never runs a second saga) and answering its task tokens.

use async_trait::async_trait;
use aws_sdk_sfn::{Client, error::ProvideErrorMetadata};

use super::{RepoError, aws};
use crate::clients::Deferred;

/// What Step Functions made of a task answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAnswer {
    Accepted,
    /// The step is over already (timed out, or the execution ended): nobody waits for it.
    Stale,
}

#[async_trait]
pub trait Workflow: Send + Sync {
    /// Starts execution `name` with `input`; an execution of that name already running or run
    /// counts as started.
    async fn start(&self, name: &str, input: &str) -> Result<(), RepoError>;
    async fn succeed(&self, token: &str, output: &str) -> Result<TaskAnswer, RepoError>;
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<TaskAnswer, RepoError>;
    async fn heartbeat(&self, token: &str) -> Result<TaskAnswer, RepoError>;
}

pub struct StepFunctions {
    client: Deferred<Client>,
    state_machine_arn: String,
}

impl StepFunctions {
    pub fn new(client: impl Into<Deferred<Client>>, state_machine_arn: String) -> Self {
        Self {
            client: client.into(),
            state_machine_arn,
        }
    }
}

fn answer<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    result: Result<(), aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>>,
) -> Result<TaskAnswer, RepoError> {
    match result {
        Ok(()) => Ok(TaskAnswer::Accepted),
        Err(err)
            if matches!(
                err.as_service_error().and_then(|e| e.code()),
                Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")
            ) =>
        {
            Ok(TaskAnswer::Stale)
        }
        Err(err) => Err(aws("stepfunctions", err)),
    }
}

#[async_trait]
impl Workflow for StepFunctions {
    #[tracing::instrument(skip(self, input))]
    async fn start(&self, name: &str, input: &str) -> Result<(), RepoError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if err.as_service_error().and_then(|e| e.code())
                    == Some("ExecutionAlreadyExists") =>
            {
                Ok(())
            }
            Err(err) => Err(aws("stepfunctions", err)),
        }
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<TaskAnswer, RepoError> {
        answer(
            self.client
                .send_task_success()
                .task_token(token)
                .output(output)
                .send()
                .await
                .map(drop),
        )
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<TaskAnswer, RepoError> {
        answer(
            self.client
                .send_task_failure()
                .task_token(token)
                .error(error)
                .cause(cause)
                .send()
                .await
                .map(drop),
        )
    }

    async fn heartbeat(&self, token: &str) -> Result<TaskAnswer, RepoError> {
        answer(
            self.client
                .send_task_heartbeat()
                .task_token(token)
                .send()
                .await
                .map(drop),
        )
    }
}
