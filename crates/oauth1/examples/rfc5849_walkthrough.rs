//! Walks through RFC 5849 §1.2 (the printer/photos example): the client signs
//! each of the three requests, the "server" verifies each one, and a tampered
//! request is refused. Run by `cargo xtask demo` until the upload demo exists.

use oauth1::{
    MemoryNonceStore, ReceivedRequest, Request, Signer, VerifyOptions, access_token_request,
    authorize_url, parse_token_response, request_token_request,
};

fn expect_rfc_signature(header: &str, rfc: &str) -> Result<(), String> {
    let expected = format!("oauth_signature=\"{}\"", oauth1::percent_encode(rfc));
    if header.contains(&expected) {
        Ok(())
    } else {
        Err(format!("signature differs from the RFC's {rfc}"))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut nonces = MemoryNonceStore::new();
    // The RFC's clock, so its published signatures come out exactly.
    let consumer = Signer::new("dpf43f3p2l4k3l03", "kd94hf93k423kf44")
        .realm("Photos")
        .omit_version();

    println!("1. printer.example.com asks photos.example.net for temporary credentials");
    let step1 = request_token_request(
        &consumer.clone().nonce("wIjqoS").timestamp(137131200),
        "https://photos.example.net/initiate",
        Some("http://printer.example.com/ready"),
    )?;
    let received = ReceivedRequest::parse(
        &Request::new(&step1.method, &step1.url).authorization(&step1.headers[0].1),
    )?;
    println!("   base string: {}", received.base_string());
    received.verify(
        "kd94hf93k423kf44",
        None,
        &VerifyOptions::new(137131200),
        &mut nonces,
    )?;
    expect_rfc_signature(&step1.headers[0].1, "74KNZJeDHnMBp0EMJ9ZHt/XKycU=")?;
    println!("   signature matches the RFC (74KNZJeDHnMBp0EMJ9ZHt/XKycU=); server: valid");
    let temporary = parse_token_response(b"oauth_token=hh5s93j4hdidpola&oauth_token_secret=hdhd0244k9j7ao03&oauth_callback_confirmed=true")?;

    println!(
        "2. Jane authorizes at {}",
        authorize_url(
            "https://photos.example.net/authorize",
            &temporary.token,
            None
        )?
    );

    println!("3. the printer exchanges the verifier for token credentials");
    let with_temp = consumer
        .clone()
        .token(temporary.token.clone(), temporary.token_secret.clone());
    let step3 = access_token_request(
        &with_temp.nonce("walatlh").timestamp(137131201),
        "https://photos.example.net/token",
        "hfdp7dh39dks9884",
    )?;
    let received = ReceivedRequest::parse(
        &Request::new(&step3.method, &step3.url).authorization(&step3.headers[0].1),
    )?;
    received.verify(
        "kd94hf93k423kf44",
        Some("hdhd0244k9j7ao03"),
        &VerifyOptions::new(137131201),
        &mut nonces,
    )?;
    expect_rfc_signature(&step3.headers[0].1, "gKgrFCywp7rO0OXSjdot/IHF7IU=")?;
    println!("   signature matches the RFC (gKgrFCywp7rO0OXSjdot/IHF7IU=); server: valid");

    println!("4. the printer fetches the photo with the token credentials");
    let url = "http://photos.example.net/photos?file=vacation.jpg&size=original";
    let signed = consumer
        .token("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
        .nonce("chapoH")
        .timestamp(137131202)
        .sign(&Request::new("GET", url))?;
    assert_eq!(signed.signature(), "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    println!("   signature matches the RFC: MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    let header = signed.authorization_header();
    let received = ReceivedRequest::parse(&Request::new("GET", url).authorization(&header))?;
    received.verify(
        "kd94hf93k423kf44",
        Some("pfkkdhi9sl3r4s00"),
        &VerifyOptions::new(137131202),
        &mut nonces,
    )?;

    println!("5. an attacker replays it for size=large");
    let tampered = url.replace("original", "large");
    let replay = ReceivedRequest::parse(&Request::new("GET", &tampered).authorization(&header))?;
    match replay.verify(
        "kd94hf93k423kf44",
        Some("pfkkdhi9sl3r4s00"),
        &VerifyOptions::new(137131202),
        &mut nonces,
    ) {
        Err(error) => println!("   server refuses: {error} (HTTP {})", error.http_status()),
        Ok(()) => return Err("a tampered request verified".into()),
    }
    println!("\nOAuth 1.0a walkthrough complete.");
    Ok(())
}
