//! `cargo bench -p imaging`: 1024 + 256 px thumbnails of a 12 MP JPEG (q90) and a 12 MP PNG.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [u32; 2] = [1024, 256];

fn thumbnails(c: &mut Criterion) {
    let img = support::photo_like(4000, 3000, 42);
    let jpeg = support::encode_jpeg(&img, 90);
    let png = support::encode_png_rgb(&img);
    drop(img);
    let limits = imaging::Limits::default();

    let mut group = c.benchmark_group("thumbnails_1024_256");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(1));
    group.bench_function("jpeg_4000x3000_q90", |b| {
        b.iter(|| {
            imaging::make_thumbnails(black_box(&jpeg), "image/jpeg", &SIZES, &limits).unwrap()
        })
    });
    group.bench_function("png_4000x3000_rgb", |b| {
        b.iter(|| imaging::make_thumbnails(black_box(&png), "image/png", &SIZES, &limits).unwrap())
    });
    group.finish();
}

criterion_group!(benches, thumbnails);
criterion_main!(benches);
