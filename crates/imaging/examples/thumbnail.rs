//! Benchmark driver used by `scripts/bench/thumbnails.sh`.
//!
//! ```text
//! thumbnail gen DIR                  # writes DIR/photo.jpg (4000x3000, q90) and DIR/photo.png
//! thumbnail run FILE [N] [OUTDIR]    # makes 1024 + 256 px thumbnails N times, prints ms/image
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

const SIZES: [u32; 2] = [1024, 256];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mut stdout = std::io::stdout().lock();
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            let dir = Path::new(args.get(2).ok_or("gen DIR")?);
            std::fs::create_dir_all(dir)?;
            let img = support::photo_like(4000, 3000, 42);
            let jpeg = support::encode_jpeg(&img, 90);
            std::fs::write(dir.join("photo.jpg"), &jpeg)?;
            let png = support::encode_png_rgb(&img);
            std::fs::write(dir.join("photo.png"), &png)?;
            writeln!(
                stdout,
                "wrote {0}/photo.jpg ({1} bytes) and {0}/photo.png ({2} bytes)",
                dir.display(),
                jpeg.len(),
                png.len()
            )?;
        }
        Some("run") => {
            let path = args.get(2).ok_or("run FILE [N] [OUTDIR]")?;
            let n: u32 = args
                .get(3)
                .map(|s| s.parse())
                .transpose()?
                .unwrap_or(1)
                .max(1);
            let out_dir = args.get(4);
            let limits = imaging::Limits::default();
            let mut times = Vec::with_capacity(n as usize);
            let mut last = Vec::new();
            for _ in 0..n {
                // Reading the file is part of the work (the Lambda gets the bytes from S3).
                let start = Instant::now();
                let bytes = std::fs::read(path)?;
                let ct = imaging::sniff(&bytes).ok_or("unknown image type")?;
                last = imaging::make_thumbnails(&bytes, ct, &SIZES, &limits)?;
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            if let Some(dir) = out_dir {
                std::fs::create_dir_all(dir)?;
                for t in &last {
                    std::fs::write(
                        Path::new(dir).join(format!("ours_{}.jpg", t.max_edge)),
                        &t.jpeg,
                    )?;
                }
            }
            times.sort_by(f64::total_cmp);
            let mean = times.iter().sum::<f64>() / f64::from(n);
            let dims: Vec<String> = last
                .iter()
                .map(|t| format!("{}x{}", t.width, t.height))
                .collect();
            writeln!(
                stdout,
                "{path}: n={n} mean={mean:.2} ms min={:.2} ms median={:.2} ms outputs={}",
                times[0],
                times[times.len() / 2],
                dims.join(",")
            )?;
        }
        _ => return Err("usage: thumbnail gen DIR | thumbnail run FILE [N] [OUTDIR]".into()),
    }
    Ok(())
}
