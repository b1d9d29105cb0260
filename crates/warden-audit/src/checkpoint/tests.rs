use super::*;

// Vectors from golang.org/x/mod/sumdb/note (note_test.go): a signer key
// `PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 ‖ seed)>`, its verifier key,
// and the (deterministic Ed25519) signed note it makes.
const PETER_SKEY_BLOB: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> CheckpointSigner {
    let blob = BASE64.decode(PETER_SKEY_BLOB).unwrap_or_default();
    assert_eq!(blob.first(), Some(&ALGORITHM_ED25519));
    let seed: [u8; 32] = blob[1..].try_into().unwrap_or([0; 32]);
    CheckpointSigner::from_seed("PeterNeumann", seed).unwrap_or_else(|e| unreachable!("{e}"))
}

#[test]
fn go_note_vectors_sign_and_verify() {
    let signer = peter();
    assert_eq!(signer.verifier_key(), PETER_VKEY);
    assert_eq!(signer.sign_text(TEXT), format!("{TEXT}\n{PETER_SIG}"));
    let note = format!("{TEXT}\n{PETER_SIG}");
    assert_eq!(open_note(&note, PETER_VKEY).ok(), Some(TEXT));
    // Enoch's key is well formed too.
    assert!(check_verifier_key(ENOCH_VKEY).is_ok());
    // A cosignature by another key is ignored; both keys verify their own.
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(open_note(&both, PETER_VKEY).ok(), Some(TEXT));
    assert_eq!(open_note(&both, ENOCH_VKEY).ok(), Some(TEXT));
    // A note by Enoch only is not one by Peter.
    let enoch_only = format!("{TEXT}\n{ENOCH_SIG}");
    assert!(matches!(
        open_note(&enoch_only, PETER_VKEY),
        Err(AuditError::UnknownKey { .. })
    ));
    // Go's "invalid signature" case: four characters inserted into the signature.
    let tampered = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert!(matches!(
        open_note(&tampered, PETER_VKEY),
        Err(AuditError::BadSignature { .. })
    ));
    // More than 100 signatures is malformed.
    let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert!(matches!(
        open_note(&many, PETER_VKEY),
        Err(AuditError::NoteMalformed { .. })
    ));
}

#[test]
fn go_vkey_manglings_are_rejected() {
    assert!(check_verifier_key(PETER_VKEY).is_ok());
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if (i, j) != (0, bytes.len()) {
                let part = String::from_utf8_lossy(&bytes[i..j]);
                assert!(check_verifier_key(&part).is_err(), "accepted {part}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] = mangled[i].wrapping_add(1);
        let mangled = String::from_utf8_lossy(&mangled);
        // Hex digits are case-insensitive: `c` + 1 = `d` changes the hash, fine;
        // only a change that keeps the same meaning could pass, and none does.
        assert!(check_verifier_key(&mangled).is_err(), "accepted {mangled}");
    }
    // From Go: wrong key length and unknown algorithm, each with a matching key hash.
    assert!(
        check_verifier_key(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert!(
        check_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .is_err()
    );
}

#[test]
fn checkpoints_round_trip_and_reject_malformed_bodies() {
    let signer = peter();
    let checkpoint = Checkpoint {
        origin: "example.com/log".into(),
        size: 7,
        root: [9; 32],
    };
    assert_eq!(
        checkpoint.body(),
        "example.com/log\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n"
    );
    let note = signer.sign(&checkpoint);
    assert!(note.starts_with(&checkpoint.body()));
    assert_eq!(
        open_checkpoint(&note, PETER_VKEY).ok(),
        Some(checkpoint.clone())
    );

    for body in [
        "example.com/log\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\nextension\n",
        "example.com/log\n07\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
        "example.com/log\n+7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
        "example.com/log\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk\n",
        "example.com/log\n7\nCQkJ\n",
        "\n7\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
        "example.com/log\n7\n",
    ] {
        let note = signer.sign_text(body);
        assert!(
            matches!(
                open_checkpoint(&note, PETER_VKEY),
                Err(AuditError::CheckpointMalformed { .. })
            ),
            "accepted {body:?}"
        );
    }
}

#[test]
fn every_byte_of_a_checkpoint_note_matters() {
    let signer = peter();
    let checkpoint = Checkpoint {
        origin: "o".into(),
        size: 1,
        root: [1; 32],
    };
    let note = signer.sign(&checkpoint);
    let bytes = note.as_bytes();
    for i in 0..bytes.len() {
        let mut altered = bytes.to_vec();
        altered[i] ^= 0x01;
        if let Ok(text) = String::from_utf8(altered) {
            assert!(
                open_checkpoint(&text, PETER_VKEY).is_err(),
                "byte {i}: {text:?}"
            );
        }
    }
    // Malformed signature sections.
    let body = checkpoint.body();
    for bad in [
        body.clone(),
        format!("{body}\n"),
        format!("{body}\n— PeterNeumann\n"),
        format!("{body}\n- PeterNeumann AAAA\n"),
        format!(
            "{body}\n{}",
            note.trim_end_matches('\n')
                .split_once("\n\n")
                .map_or("", |p| p.1)
        ),
        format!("{}\r", note.trim_end_matches('\n')),
        note.replacen("\n\n", "\n\n\n", 1),
    ] {
        assert!(
            open_checkpoint(&bad, PETER_VKEY).is_err(),
            "accepted {bad:?}"
        );
    }
}

#[test]
fn key_names_are_checked_and_debug_redacts() {
    assert!(CheckpointSigner::generate("has space").is_err());
    assert!(CheckpointSigner::generate("a+b").is_err());
    assert!(CheckpointSigner::generate("").is_err());
    let signer = peter();
    let shown = format!("{signer:?}");
    assert!(shown.contains("redacted") && shown.contains(PETER_VKEY));
    assert!(!shown.contains(PETER_SKEY_BLOB));
}

#[test]
fn key_files_are_created_private_and_reloaded() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
    let path = dir.path().join("keys/checkpoint.key");
    let (first, created) =
        CheckpointSigner::load_or_create(&path, "warden").unwrap_or_else(|e| unreachable!("{e}"));
    assert!(created);
    let (second, created) =
        CheckpointSigner::load_or_create(&path, "warden").unwrap_or_else(|e| unreachable!("{e}"));
    assert!(!created);
    assert_eq!(first.verifier_key(), second.verifier_key());
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(text.len(), 45);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640));
        assert!(matches!(
            CheckpointSigner::from_seed_file(&path, "warden"),
            Err(AuditError::KeyFile { .. })
        ));
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    std::fs::write(&path, "not base64\n").unwrap_or_default();
    assert!(matches!(
        CheckpointSigner::from_seed_file(&path, "warden"),
        Err(AuditError::KeyFile { .. })
    ));
    assert!(matches!(
        CheckpointSigner::from_seed_file(&dir.path().join("missing"), "warden"),
        Err(AuditError::Io { .. })
    ));
}
