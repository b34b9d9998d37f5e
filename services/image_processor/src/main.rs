//! image_processing_lambda: the image queue's consumer (SQS batches under Lambda, a long-poll loop elsewhere).

// One thread: a Lambda execution environment hands it one event at a time (`common::app::main`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), common::app::BoxError> {
    common::app::main(
        common::app::Function::ImageProcessor,
        common::app::run_image_processor,
    )
    .await
}
