//! `nat-ingest replay --to tcp://`, `--to udp://` and `--to tls://` against a
//! real `nat-ingest run`: every message arrives exactly once, in both TCP
//! framings, over paced UDP, and over TLS with a verified or an unverified
//! server and a client certificate. Also: `--rate` paces (loosely; precision is
//! measured in the bench), a refused destination fails the run, and so do a
//! server certificate from the wrong CA and a missing client certificate.

mod run_support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use run_support::{archived_tags, message, Running};

const TCP_MESSAGES: usize = 5000;
const UDP_MESSAGES: usize = 1000;
/// Slow enough that no datagram overflows the loopback socket buffer.
const UDP_RATE: &str = "4000";

fn replay(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_nat-ingest"))
        .arg("replay")
        .args(args)
        .env("NAT_INGEST_LOG", "warn")
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn write_messages(path: &std::path::Path, stream: &str, count: usize) {
    let mut text = String::new();
    for n in 0..count {
        text.push_str(&message(stream, n));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn every_message_reaches_a_running_collector() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let running = Running::start(&archive, &["udp://127.0.0.1:0", "tcp://127.0.0.1:0"], &[]);
    let (udp, tcp) = (running.udp.unwrap(), running.tcp.unwrap());

    let octets = dir.path().join("octets.log");
    write_messages(&octets, "octets", TCP_MESSAGES);
    let lf = dir.path().join("lf.log");
    write_messages(&lf, "lf", TCP_MESSAGES);
    let datagrams = dir.path().join("datagrams.log");
    write_messages(&datagrams, "datagrams", UDP_MESSAGES);

    let to_tcp = format!("tcp://{tcp}");
    let output = replay(&["--to", &to_tcp, octets.to_str().unwrap()]);
    assert!(output.status.success());
    let output = replay(&["--to", &to_tcp, "--framing", "lf", lf.to_str().unwrap()]);
    assert!(output.status.success());
    let to_udp = format!("udp://{udp}");
    let output = replay(&[
        "--to",
        &to_udp,
        "--rate",
        UDP_RATE,
        datagrams.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let summary = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(summary.contains("read=1000 sent=1000"), "{summary}");

    let total = (2 * TCP_MESSAGES + UDP_MESSAGES) as f64;
    running.wait_for_metric(
        "pipeline_documents_parsed_total",
        total,
        Duration::from_secs(60),
    );
    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success());

    let (documents, tags) = archived_tags(&archive);
    assert_eq!(documents, 2 * TCP_MESSAGES + UDP_MESSAGES);
    for (stream, count) in [
        ("octets", TCP_MESSAGES),
        ("lf", TCP_MESSAGES),
        ("datagrams", UDP_MESSAGES),
    ] {
        assert_eq!(tags[stream], (0..count).collect::<Vec<_>>(), "{stream}");
    }
}

/// 1000 messages at 2000/s take about half a second: not much less (the bucket
/// allows only a 1 % burst), and not wildly more.
#[test]
fn rate_paces_the_sending() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paced.log");
    write_messages(&file, "paced", 1000);
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = format!("udp://{}", receiver.local_addr().unwrap());

    let started = Instant::now();
    let output = replay(&["--to", &to, "--rate", "2000", file.to_str().unwrap()]);
    let elapsed = started.elapsed();
    assert!(output.status.success());
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn a_refused_destination_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nowhere.log");
    write_messages(&file, "nowhere", 10);
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = replay(&["--to", &format!("tcp://{closed}"), file.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

/// PEM files in a temporary directory: a CA, a server certificate for
/// `localhost` and a client certificate signed by it, and a second CA that
/// signed neither.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();

        let (ca, ca_pem) = certificate_authority("replay test CA");
        write("ca.pem", ca_pem);
        write("other-ca.pem", certificate_authority("unrelated CA").1);

        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        write("server.pem", server.pem());
        write("server.key", server_key.serialize_pem());

        let client_key = KeyPair::generate().unwrap();
        let mut client = CertificateParams::new(vec!["replay.example".to_owned()]).unwrap();
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = client.signed_by(&client_key, &ca).unwrap();
        write("client.pem", client.pem());
        write("client.key", client_key.serialize_pem());
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    /// A `run` config whose TLS listener requires a client certificate from
    /// the CA; `--listen tls://` takes its `tls` table.
    fn run_config(&self) -> PathBuf {
        let path = self.dir.path().join("run.toml");
        let text = format!(
            "[[listener]]\nkind = \"tls\"\naddress = \"127.0.0.1:0\"\n\n[listener.tls]\n\
             cert_file = {:?}\nkey_file = {:?}\nclient_ca_file = {:?}\n",
            self.path("server.pem"),
            self.path("server.key"),
            self.path("ca.pem"),
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn certificate_authority(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).unwrap().pem();
    (Issuer::new(params, key), pem)
}

#[test]
fn every_message_reaches_a_tls_collector() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let config = pki.run_config();
    let running = Running::start(
        &archive,
        &["tls://127.0.0.1:0"],
        &["--config", config.to_str().unwrap()],
    );
    // By address, so the certificate's name comes from --tls-server-name.
    let to = format!("tls://{}", running.tls.unwrap());
    let (ca, other_ca) = (pki.path("ca.pem"), pki.path("other-ca.pem"));
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let client = ["--tls-cert", &cert, "--tls-key", &key];

    let verified = dir.path().join("verified.log");
    write_messages(&verified, "verified", TCP_MESSAGES);
    let mut args = vec!["--to", &to, "--tls-ca", &ca];
    args.extend(["--tls-server-name", "localhost"]);
    args.extend(client);
    let output = replay(&[&args[..], &[verified.to_str().unwrap()]].concat());
    assert!(output.status.success());

    // Unverified: works, and says so; LF framing over TLS works too.
    let insecure = dir.path().join("insecure.log");
    write_messages(&insecure, "insecure", UDP_MESSAGES);
    let mut args = vec!["--to", &to, "--tls-insecure", "--framing", "lf"];
    args.extend(client);
    let output = replay(&[&args[..], &[insecure.to_str().unwrap()]].concat());
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not checked"), "{stderr}");

    // A server certificate from another CA fails the start.
    let refused = dir.path().join("refused.log");
    write_messages(&refused, "refused", 10);
    let mut args = vec!["--to", &to, "--tls-ca", &other_ca];
    args.extend(["--tls-server-name", "localhost"]);
    args.extend(client);
    let output = replay(&[&args[..], &[refused.to_str().unwrap()]].concat());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TLS handshake"), "{stderr}");

    // Without a client certificate the server refuses; with TLS 1.3 that
    // arrives after the client's side of the handshake, and must still fail
    // the run rather than pass for delivered.
    let output = replay(&[
        "--to",
        &to,
        "--tls-ca",
        &ca,
        "--tls-server-name",
        "localhost",
        refused.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CertificateRequired"), "{stderr}");

    let total = (TCP_MESSAGES + UDP_MESSAGES) as f64;
    running.wait_for_metric(
        "pipeline_documents_parsed_total",
        total,
        Duration::from_secs(60),
    );
    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success());

    let (documents, tags) = archived_tags(&archive);
    assert_eq!(documents, TCP_MESSAGES + UDP_MESSAGES);
    assert_eq!(tags["verified"], (0..TCP_MESSAGES).collect::<Vec<_>>());
    assert_eq!(tags["insecure"], (0..UDP_MESSAGES).collect::<Vec<_>>());
    assert!(!tags.contains_key("refused"));
}
