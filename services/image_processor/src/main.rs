//! `image_processing_lambda`: the SQS handler of the image pipeline (its features come with the
//! image-pipeline work; until then it refuses to start rather than drop messages).

fn main() -> std::process::ExitCode {
    eprintln!(
        "image_processor: the thumbnail pipeline is not built yet; refusing to consume messages"
    );
    std::process::ExitCode::FAILURE
}
