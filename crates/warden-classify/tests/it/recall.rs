//! Recall: national phone formats, short Maestro and 15-digit JCB cards,
//! national identifiers with their check digits, dates of birth in more
//! languages, values hidden by zero-width characters, and password-reset
//! links that are not passwords.

use crate::{classifier, finds, found, misses};

#[test]
fn short_maestro_and_fifteen_digit_jcb() {
    finds("Maestro 6759 6498 2648", "card", "6759 6498 2648");
    finds("card no 500000000009", "card", "500000000009");
    finds("paid by card 560000000003", "card", "560000000003");
    finds("JCB 180000000000002", "card", "180000000000002");
    finds("JCB 213112345678904 ok", "card", "213112345678904");
    finds("3530 1113 3330 0000", "card", "3530 1113 3330 0000");
    // Wrong check digit, wrong issuer, or a bare 12-digit number with no card word.
    misses("Maestro 6759 6498 2649", "card");
    misses("JCB 180000000000003", "card");
    misses("order 213112345678905", "card");
    misses("card 400000000002", "card");
    misses("order 675964982648 shipped", "card");
}

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
