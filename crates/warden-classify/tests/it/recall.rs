//! Recall: national phone formats, short Maestro and 15-digit JCB cards,
//! national identifiers with their check digits, dates of birth in more
//! languages, values hidden by zero-width characters, and password-reset
//! links that are not passwords.

use crate::{classifier, finds, found, misses};

#[test]
fn password_reset_links_and_sentences_are_not_passwords() {
    for text in [
        "reset your password: https://example.com/reset?token=abc",
        "Reset your password here: https://example.com/reset?token=abc",
        "click the link to reset your password",
        "Forgot password? Reset password: click the link below.",
        "Your password: Reset it from the account page",
        "password: www.example.com/reset",
        "PWD=/home/jane",
        "Password: see the vault entry",
    ] {
        misses(text, "password");
        assert!(
            !classifier().classes_of_text(text).contains("credentials"),
            "{text}: {:?}",
            found(text)
        );
    }
    let doc = serde_json::json!({"password_reset_url": "https://example.com/reset?token=abc"});
    assert!(classifier().classify_json(&doc).is_empty());
    finds("password: hunter2-Xy9", "password", "hunter2-Xy9");
    finds("pwd=Zr9-kq2Lm", "password", "Zr9-kq2Lm");
    finds("Password: hunter2.", "password", "hunter2");
    finds("password=letmein", "password", "letmein");
}
