//! `intel_gpu_top -J`: a stream of JSON objects (inside an open array in recent versions), one per
//! period, with per-engine busy % and GPU/package power. Engines "Render/3D/0", "Video/1"… are
//! grouped by class ("Render/3D", "Video"); several instances of a class report the busiest one.

use super::accumulator::Reading;
use crate::json::Json;

/// The id and name Beszel HEAD gives the intel_gpu_top GPU.
pub const INTEL_TOP_ID: &str = "i0";
pub const INTEL_TOP_NAME: &str = "GPU";

pub fn args(device: Option<&str>) -> Vec<String> {
    let mut args = vec!["-J".to_string(), "-s".to_string(), "3300".to_string()];
    if let Some(dev) = device.filter(|d| !d.is_empty()) {
        args.push("-d".into());
        args.push(dev.to_string());
    }
    args
}

/// Cuts a byte stream into complete top-level `{…}` objects, ignoring the array brackets and
/// commas between them and braces inside strings.
#[derive(Debug, Default)]
pub struct ObjectSplitter {
    buf: String,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl ObjectSplitter {
    pub fn feed(&mut self, chunk: &str) -> Vec<String> {
        let mut out = Vec::new();
        for c in chunk.chars() {
            if self.depth == 0 && c != '{' {
                continue;
            }
            self.buf.push(c);
            if self.in_string {
                match (self.escaped, c) {
                    (true, _) => self.escaped = false,
                    (false, '\\') => self.escaped = true,
                    (false, '"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => self.in_string = true,
                '{' => self.depth += 1,
                '}' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        out.push(std::mem::take(&mut self.buf));
                    }
                }
                _ => {}
            }
        }
        // A runaway object (no closing brace for a long time) is dropped, not grown forever.
        if self.buf.len() > 1 << 20 {
            *self = ObjectSplitter::default();
        }
        out
    }
}

fn num(v: Option<&Json>) -> Option<f64> {
    match v {
        Some(Json::Number(n)) => n.parse::<f64>().ok().filter(|v| v.is_finite()),
        _ => None,
    }
}

/// "Render/3D/0" → "Render/3D"; "[unknown]/0" → "[unknown]".
pub fn engine_class(name: &str) -> &str {
    match name.rsplit_once('/') {
        Some((class, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => class,
        _ => name,
    }
}

/// One period object; None when it is not valid JSON or has no engines.
pub fn parse_period(text: &str) -> Option<Reading> {
    let doc = Json::parse(text)?;
    let Some(Json::Object(engines)) = doc.get("engines") else {
        return None;
    };
    let mut classes: Vec<(String, f64)> = Vec::new();
    for (name, engine) in engines {
        let busy = num(engine.get("busy")).unwrap_or(0.0);
        let class = engine_class(name);
        match classes.iter_mut().find(|(c, _)| c == class) {
            Some((_, v)) => *v = v.max(busy),
            None => classes.push((class.to_string(), busy)),
        }
    }
    let power = doc.get("power");
    let gpu_power = num(power.and_then(|p| p.get("GPU")))
        .or_else(|| num(power.and_then(|p| p.get("value"))))
        .unwrap_or(0.0);
    let pkg_power = num(power.and_then(|p| p.get("Package"))).unwrap_or(0.0);
    Some(Reading {
        id: INTEL_TOP_ID.into(),
        name: INTEL_TOP_NAME.into(),
        power: gpu_power,
        power_pkg: pkg_power,
        engines: classes,
        usage_from_engines: true,
        ..Reading::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::gpu::accumulator::Accumulator;

    /// Written from intel_gpu_top's documented `-J` output (igt-gpu-tools 1.27+: an open array of
    /// period objects, printed as they come; the first period covers start-up and is skipped).
    const STREAM: &str = r#"[
{
	"period": {"duration": 3300.1, "unit": "ms"},
	"frequency": {"requested": 0.0, "actual": 0.0, "unit": "MHz"},
	"power": {"GPU": 0.0, "Package": 0.0, "unit": "W"},
	"engines": {
		"Render/3D/0": {"busy": 0.0, "sema": 0.0, "wait": 0.0, "unit": "%"}
	}
},
{
	"period": {"duration": 3300.4, "unit": "ms"},
	"frequency": {"requested": 650.2, "actual": 600.1, "unit": "MHz"},
	"interrupts": {"count": 120.5, "unit": "irq/s"},
	"rc6": {"value": 70.1, "unit": "%"},
	"power": {"GPU": 1.5, "Package": 4.25, "unit": "W"},
	"engines": {
		"Render/3D/0": {"busy": 20.5, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"Blitter/0": {"busy": 0.0, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"Video/0": {"busy": 10.0, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"Video/1": {"busy": 30.0, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"VideoEnhance/0": {"busy": 5.0, "sema": 0.0, "wait": 0.0, "unit": "%"}
	},
	"clients": {"4242": {"name": "ffmpeg {x}", "pid": "4242"}}
},
{
	"period": {"duration": 3299.9, "unit": "ms"},
	"power": {"GPU": 2.5, "Package": 5.75, "unit": "W"},
	"engines": {
		"Render/3D/0": {"busy": 60.5, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"Blitter/0": {"busy": 2.0, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"Video/0": {"busy": 40.0, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"Video/1": {"busy": 0.0, "sema": 0.0, "wait": 0.0, "unit": "%"},
		"VideoEnhance/0": {"busy": 15.0, "sema": 0.0, "wait": 0.0, "unit": "%"}
	}
}"#;

    #[test]
    fn intel_gpu_top_json_stream() {
        let mut split = ObjectSplitter::default();
        // Fed in awkward chunks, as a pipe delivers it.
        let mut objects = Vec::new();
        let bytes: Vec<char> = STREAM.chars().collect();
        for chunk in bytes.chunks(37) {
            objects.extend(split.feed(&chunk.iter().collect::<String>()));
        }
        assert_eq!(objects.len(), 3);
        let mut acc = Accumulator::default();
        for obj in objects.iter().skip(1) {
            acc.push(parse_period(obj).unwrap());
        }
        let (id, g) = &acc.current(60000)[0];
        assert_eq!(id, "i0");
        assert_eq!(g.name, "GPU");
        assert_eq!(g.power, 2.0);
        assert_eq!(g.power_pkg, 5.0);
        assert_eq!(
            g.engines,
            vec![
                ("Render/3D".to_string(), 40.5),
                ("Blitter".to_string(), 1.0),
                ("Video".to_string(), 35.0),
                ("VideoEnhance".to_string(), 10.0),
            ]
        );
        assert_eq!(g.usage, 40.5, "usage = busiest engine class");
    }

    #[test]
    fn older_power_shape_and_garbage() {
        let r = parse_period(
            r#"{"power": {"value": 3.5, "unit": "W"}, "engines": {"Render/3D/0": {"busy": 1}}}"#,
        )
        .unwrap();
        assert_eq!(r.power, 3.5);
        assert!(parse_period("{not json}").is_none());
        assert!(parse_period(r#"{"period": {}}"#).is_none());
    }

    #[test]
    fn engine_classes() {
        assert_eq!(engine_class("Render/3D/0"), "Render/3D");
        assert_eq!(engine_class("Video/12"), "Video");
        assert_eq!(engine_class("Render/3D"), "Render/3D");
        assert_eq!(engine_class("[unknown]/0"), "[unknown]");
    }

    #[test]
    fn intel_device_argument() {
        assert_eq!(args(None), ["-J", "-s", "3300"]);
        assert_eq!(
            args(Some("sriov:0000:00:02.1")),
            ["-J", "-s", "3300", "-d", "sriov:0000:00:02.1"]
        );
    }
}
