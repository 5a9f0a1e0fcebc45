//! Host actions 10–13 for the JS side (ts/extensions/files.ts): the request object converted, the
//! jail's work queued on the threadpool (it stats and reads files), its errors given codes. The
//! jail itself is sonar-core's `files` module; the policy (which root, writable, limits) is TS's.

use crate::args::{self, Arg, ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE};
use crate::napi::{queue_work, Args, Env, JsError, JsValue, Result};
use crate::read_arg;
use sonar_core::files::{
    Expected, FileError, FileErrorKind, Jail, Listing, ReadResult, WriteResult,
};
use std::path::PathBuf;

pub const ERR_FILES_PATH: &str = "ERR_SONAR_FILES_PATH";
pub const ERR_FILES_ROOT: &str = "ERR_SONAR_FILES_ROOT";
pub const ERR_FILES_NOT_FOUND: &str = "ERR_SONAR_FILES_NOT_FOUND";
pub const ERR_FILES_SYMLINK: &str = "ERR_SONAR_FILES_SYMLINK";
pub const ERR_FILES_KIND: &str = "ERR_SONAR_FILES_KIND";
pub const ERR_FILES_DENIED: &str = "ERR_SONAR_FILES_DENIED";
pub const ERR_FILES_REFUSED: &str = "ERR_SONAR_FILES_REFUSED";
pub const ERR_FILES_CONFLICT: &str = "ERR_SONAR_FILES_CONFLICT";
pub const ERR_FILES_IO: &str = "ERR_SONAR_FILES_IO";
pub const ERR_FILES_UNSUPPORTED: &str = "ERR_SONAR_FILES_UNSUPPORTED";

/// The jail's refusal, with a code per kind (index.d.ts lists them).
pub fn file_error(e: FileError) -> JsError {
    let code = match e.kind {
        FileErrorKind::InvalidPath => ERR_FILES_PATH,
        FileErrorKind::InvalidRoot => ERR_FILES_ROOT,
        FileErrorKind::NotFound => ERR_FILES_NOT_FOUND,
        FileErrorKind::Symlink => ERR_FILES_SYMLINK,
        FileErrorKind::WrongKind => ERR_FILES_KIND,
        FileErrorKind::Denied => ERR_FILES_DENIED,
        FileErrorKind::Refused => ERR_FILES_REFUSED,
        FileErrorKind::Conflict => ERR_FILES_CONFLICT,
        FileErrorKind::Io => ERR_FILES_IO,
        FileErrorKind::Unsupported => ERR_FILES_UNSUPPORTED,
    };
    JsError::error(code, e.message)
}

/// The argument every files* function takes: an object.
pub fn request_object(arg: &Arg) -> std::result::Result<(), JsError> {
    match arg {
        Arg::Object => Ok(()),
        other => Err(JsError::type_error(
            ERR_INVALID_ARG_TYPE,
            format!(
                "The \"request\" argument must be of type object. {}",
                other.received()
            ),
        )),
    }
}

/// `expectedSha256` of a write: undefined (no check), 0 bytes (must not exist) or 32 bytes.
pub fn expected_for_write(
    bytes: Option<Vec<u8>>,
    arg: &Arg,
) -> std::result::Result<Expected, JsError> {
    match (arg, bytes) {
        (Arg::Undefined, _) => Ok(Expected::Any),
        (_, Some(b)) if b.is_empty() => Ok(Expected::Absent),
        (_, Some(b)) => hash_of(&b).map(Expected::Sha256),
        (other, None) => Err(not_bytes("expectedSha256", other)),
    }
}

/// `expectedSha256` of a delete: undefined (no check) or 32 bytes.
pub fn expected_for_delete(
    bytes: Option<Vec<u8>>,
    arg: &Arg,
) -> std::result::Result<Option<[u8; 32]>, JsError> {
    match (arg, bytes) {
        (Arg::Undefined, _) => Ok(None),
        (_, Some(b)) => hash_of(&b).map(Some),
        (other, None) => Err(not_bytes("expectedSha256", other)),
    }
}

fn hash_of(bytes: &[u8]) -> std::result::Result<[u8; 32], JsError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        JsError::range_error(
            ERR_INVALID_ARG_VALUE,
            format!(
                "The \"expectedSha256\" property must be 32 bytes (SHA-256). Received {} bytes",
                bytes.len()
            ),
        )
    })
}

fn not_bytes(name: &str, arg: &Arg) -> JsError {
    JsError::type_error(
        ERR_INVALID_ARG_TYPE,
        format!(
            "The \"{name}\" property must be an instance of Uint8Array. {}",
            arg.received()
        ),
    )
}

/// What every files* request carries: root, path, and the paths the agent protects.
struct Target {
    root: String,
    path: String,
    jail: Jail,
}

fn target<'s>(env: Env<'s>, request: JsValue<'s>) -> Result<Target> {
    request_object(&read_arg(env, request)?)?;
    let field = |name: &str| -> Result<Arg> { read_arg(env, env.get_property(request, name)?) };
    let root = args::text_field("root", field("root")?)?;
    let path = args::text_field("path", field("path")?)?;
    let list = env.get_property(request, "protect")?;
    let len = args::inner_list("protect", &read_arg(env, list)?)?;
    let mut protect = Vec::with_capacity(len as usize);
    for i in 0..len {
        let item = read_arg(env, env.get_element(list, i)?)?;
        protect.push(PathBuf::from(args::text_field(
            &format!("protect[{i}]"),
            item,
        )?));
    }
    Ok(Target {
        root,
        path,
        jail: Jail::new(protect),
    })
}

/// `filesList({ root, path, protect }): Promise<FileListing>`
pub fn list<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let t = target(env, args.get(0))?;
    queue_work(
        env,
        "sonar:filesList",
        move || t.jail.list(&t.root, &t.path).map_err(file_error),
        |env, listing: Listing| {
            let entries = env.array(listing.entries.len())?;
            for (i, e) in (0u32..).zip(&listing.entries) {
                let entry = env.object_from_entries(&[
                    (env.string("name")?, env.string(&e.name)?),
                    (env.string("kind")?, env.number(f64::from(e.kind as u8))?),
                    (env.string("size")?, env.number(e.size as f64)?),
                    (env.string("mode")?, env.number(f64::from(e.mode))?),
                    (env.string("mtimeMs")?, env.number(e.mtime_ms as f64)?),
                ])?;
                env.set_element(entries, i, entry)?;
            }
            env.object_from_entries(&[
                (env.string("entries")?, entries),
                (env.string("truncated")?, env.boolean(listing.truncated)?),
            ])
        },
    )
}

/// `filesRead({ root, path, offset, length, protect }): Promise<FileRead>`
pub fn read<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let request = args.get(0);
    let t = target(env, request)?;
    let offset = args::counter_field(
        "offset",
        &read_arg(env, env.get_property(request, "offset")?)?,
    )?;
    let length = args::bounded_field(
        "length",
        &read_arg(env, env.get_property(request, "length")?)?,
        u32::MAX,
    )?;
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    queue_work(
        env,
        "sonar:filesRead",
        move || {
            t.jail
                .read(&t.root, &t.path, offset, length)
                .map_err(file_error)
        },
        |env, r: ReadResult| {
            let sha256 = match &r.sha256 {
                Some(hash) => env.buffer_copy(hash)?,
                None => env.null()?,
            };
            env.object_from_entries(&[
                (env.string("data")?, env.buffer_copy(&r.data)?),
                (env.string("size")?, env.number(r.size as f64)?),
                (env.string("eof")?, env.boolean(r.eof)?),
                (env.string("sha256")?, sha256),
            ])
        },
    )
}

/// `filesWrite({ root, path, content, expectedSha256?, protect }): Promise<FileWritten>`
pub fn write<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let request = args.get(0);
    let t = target(env, request)?;
    let content_value = env.get_property(request, "content")?;
    let content = match env.get_bytes(content_value)? {
        Some(bytes) => bytes,
        None => return Err(not_bytes("content", &read_arg(env, content_value)?).into()),
    };
    let expected_value = env.get_property(request, "expectedSha256")?;
    let expected = expected_for_write(
        env.get_bytes(expected_value)?,
        &read_arg(env, expected_value)?,
    )?;
    queue_work(
        env,
        "sonar:filesWrite",
        move || {
            t.jail
                .write(&t.root, &t.path, &content, expected)
                .map_err(file_error)
        },
        |env, w: WriteResult| {
            env.object_from_entries(&[
                (env.string("written")?, env.number(w.written as f64)?),
                (env.string("sha256")?, env.buffer_copy(&w.sha256)?),
            ])
        },
    )
}

/// `filesDelete({ root, path, expectedSha256?, protect }): Promise<void>`
pub fn delete<'s>(env: Env<'s>, args: &Args<'s>) -> Result<JsValue<'s>> {
    let request = args.get(0);
    let t = target(env, request)?;
    let expected_value = env.get_property(request, "expectedSha256")?;
    let expected = expected_for_delete(
        env.get_bytes(expected_value)?,
        &read_arg(env, expected_value)?,
    )?;
    queue_work(
        env,
        "sonar:filesDelete",
        move || {
            t.jail
                .delete(&t.root, &t.path, expected)
                .map_err(file_error)
        },
        |env, ()| env.undefined(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_hashes() {
        assert_eq!(expected_for_write(None, &Arg::Undefined), Ok(Expected::Any));
        assert_eq!(
            expected_for_write(Some(vec![]), &Arg::Object),
            Ok(Expected::Absent)
        );
        assert_eq!(
            expected_for_write(Some(vec![7; 32]), &Arg::Object),
            Ok(Expected::Sha256([7; 32]))
        );
        let e = expected_for_write(Some(vec![7; 31]), &Arg::Object).unwrap_err();
        assert_eq!(e.code, ERR_INVALID_ARG_VALUE);
        let e = expected_for_write(None, &Arg::Text("ab".into())).unwrap_err();
        assert_eq!(e.code, ERR_INVALID_ARG_TYPE);
        assert!(e.message.contains("Received type string"), "{}", e.message);
        assert_eq!(expected_for_delete(None, &Arg::Undefined), Ok(None));
        // a delete has no "must not exist": an empty hash is an error
        assert!(expected_for_delete(Some(vec![]), &Arg::Object).is_err());
    }

    #[test]
    fn every_refusal_kind_has_its_code() {
        let e = file_error(FileError::new(FileErrorKind::Denied, "no"));
        assert_eq!((e.code, e.message.as_str()), (ERR_FILES_DENIED, "no"));
        assert_eq!(
            request_object(&Arg::Other("null")).unwrap_err().message,
            "The \"request\" argument must be of type object. Received null"
        );
    }
}
