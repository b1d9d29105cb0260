//! Passport and medical record numbers (context words), postal addresses,
//! and cloud credentials (GCP, Azure, GitLab), with their near misses.

use crate::{finds, found, misses};

#[test]
fn passports_need_a_context_word() {
    finds("Passport No. X1234567, exp 2031", "passport", "X1234567");
    finds("passport number: 123456789", "passport", "123456789");
    finds("Numéro de passeport 12AB34567", "passport", "12AB34567");
    finds("Reisepassnummer C01X00T47", "passport", "C01X00T47");
    finds("PASSPORT: TK1234567", "passport", "TK1234567");
    misses("X1234567", "passport");
    misses("ref 123456789 attached", "passport");
    misses("passport.authenticate('local', 12)", "passport");
    misses("Passport expires 20310405", "passport");
    misses("Passport photo 35x45 mm", "passport");
}

#[test]
fn medical_record_numbers_need_medical_context() {
    finds("MRN: 00482913 admitted", "mrn", "00482913");
    finds("Patient ID PT-0048812", "mrn", "PT-0048812");
    finds("medical record number 7745021.", "mrn", "7745021");
    finds("patient #55120934", "mrn", "55120934");
    misses("order 00482913", "mrn");
    misses("mRNA-1273 lot 4839201", "mrn");
    misses("MRN pending", "mrn");
    misses("medical record updated 2024-03-01", "mrn");
    misses("the patient 12345678 waited", "mrn");
}

#[test]
fn street_addresses() {
    finds(
        "ship to 1234 Main Street today",
        "street_address",
        "1234 Main Street",
    );
    finds(
        "221B Baker Street, London",
        "street_address",
        "221B Baker Street",
    );
    finds(
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        "street_address",
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
    );
    finds(
        "at 350 5th Ave, Apt 4B, New York, NY 10118-0110.",
        "street_address",
        "350 5th Ave, Apt 4B, New York, NY 10118-0110",
    );
    finds("42 St Marks Place", "street_address", "42 St Marks Place");
    misses("3 main points", "street_address");
    misses("we shipped 3 Main Points", "street_address");
    misses("In 1990 Wall Street fell", "street_address");
    misses("5 Tips For The Open Road", "street_address");
    misses("page 42 of the report", "street_address");
}

#[test]
fn uk_postcodes() {
    for pc in [
        "SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "W1A 0AX",
    ] {
        finds(&format!("London {pc}, UK"), "uk_postcode", pc);
    }
    misses("SW1A 1CA", "uk_postcode");
    misses("QA1 1AA", "uk_postcode");
    misses("AZ1 1AA", "uk_postcode");
    misses("SW1A1AA", "uk_postcode");
    misses("the M25 motorway", "uk_postcode");
    misses("A4 paper", "uk_postcode");
}

#[test]
fn gcp_service_account_keys() {
    let doc = r#"{
  "type": "service_account",
  "project_id": "demo-123",
  "private_key_id": "3f6c1b9e0a4d7f2c8e5b1a9d6c3f0e7b4a2d8c1e",
  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
  "client_email": "svc@demo-123.iam.gserviceaccount.com"
}"#;
    finds(
        doc,
        "gcp_service_account",
        "3f6c1b9e0a4d7f2c8e5b1a9d6c3f0e7b4a2d8c1e",
    );
    finds(
        doc,
        "private_key",
        r"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
    );
    misses(
        r#"{"type": "authorized_user", "private_key_id": "3f6c1b9e0a4d7f2c8e5b1a9d6c3f0e7b4a2d8c1e"}"#,
        "gcp_service_account",
    );
    misses(
        r#"docs: set "type" to "service_account""#,
        "gcp_service_account",
    );
}

#[test]
fn azure_keys_and_secrets() {
    let key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let conn = format!(
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={key};EndpointSuffix=core.windows.net"
    );
    finds(&conn, "azure_storage_key", key);
    misses("AccountKey=<your-key>;", "azure_storage_key");
    misses("AccountKey=c2hvcnQ=;", "azure_storage_key");
    let secret = "abc8Q~Zx7yT_2Lm.Q9vR-wK3pN5sD8fG1hJ4kL6z";
    finds(
        &format!("AZURE_CLIENT_SECRET={secret}"),
        "azure_client_secret",
        secret,
    );
    finds(
        &format!("client secret: {secret}."),
        "azure_client_secret",
        secret,
    );
    misses("the Q~ shape alone", "azure_client_secret");
    misses("abc8Q~short", "azure_client_secret");
}

#[test]
fn gitlab_tokens() {
    finds(
        "GL=glpat-xY7zK2mQ9pL4vN8wR3tB",
        "gitlab_token",
        "glpat-xY7zK2mQ9pL4vN8wR3tB",
    );
    finds(
        "token: glrt-t1_Ab3Cd5Ef7Gh9Ij1Kl3Mn.",
        "gitlab_token",
        "glrt-t1_Ab3Cd5Ef7Gh9Ij1Kl3Mn",
    );
    misses("glpat-short", "gitlab_token");
    misses("the glpat- prefix", "gitlab_token");
    misses("xglpat-xY7zK2mQ9pL4vN8wR3tB", "gitlab_token");
}

#[test]
fn passwords_in_connection_strings() {
    finds(
        "Server=db;Uid=app;Pwd=Tr0ub4dor&3x;",
        "password",
        "Tr0ub4dor",
    );
    finds("Driver={ODBC};PWD={p@ss;w0rd};", "password", "p@ss;w0rd");
    misses("PWD={DB_PASSWORD};", "password");
    finds(
        "host=db user=app password=s3cr3t-Pa55 dbname=x",
        "password",
        "s3cr3t-Pa55",
    );
    finds(
        "mysql://root:Zr9-kq2LmX@10.0.0.5:3306/app",
        "url_password",
        "Zr9-kq2LmX",
    );
    finds(
        "redis://:Zr9-kq2LmX@cache:6379",
        "url_password",
        "Zr9-kq2LmX",
    );
    finds(
        "jdbc:postgresql://db/app?user=app&password=Zr9-kq2LmX",
        "password",
        "Zr9-kq2LmX",
    );
}

#[test]
fn json_keys_enable_passport_and_mrn() {
    let doc =
        serde_json::json!({"passport_number": "X1234567", "mrn": "00482913", "id": "00482913"});
    let mut got: Vec<(String, &str)> = crate::classifier()
        .classify_json(&doc)
        .into_iter()
        .map(|f| (f.path, f.finding.detector))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("$.mrn".to_owned(), "mrn"),
            ("$.passport_number".to_owned(), "passport")
        ]
    );
    let _ = found("");
}
