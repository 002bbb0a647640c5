//! `bihuan backup` / `restore`: a backup taken while declarations keep
//! arriving restores to a sound database holding every declaration
//! acknowledged before the backup began, each with its person; a backup of
//! the quiet database restores to the same rows in every table.

mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bihuan::clock::Clock;
use serde_json::Value;
use sqlx::{Connection, Row};
use support::{fresh_database, spawn, unique};

const WRITERS: usize = 4;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch() -> Scratch {
    let dir = std::env::temp_dir().join(unique("bihuan-backup-"));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

async fn receipts(url: &str) -> Vec<(String, bool)> {
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(
        "SELECT d.receipt, CASE WHEN p.id IS NULL THEN 0 ELSE 1 END FROM declarations d \
         LEFT JOIN persons p ON p.id = d.person_id ORDER BY d.receipt",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get::<String, _>(0), r.get::<i32, _>(1) == 1))
    .collect()
}

#[tokio::test]
async fn a_backup_under_write_load_restores_whole_and_a_quiet_one_row_for_row() {
    let app = spawn().await;
    let files = scratch();
    let today = app.clock.today();
    let villages = vec!["330784001001".to_string(), "330784002001".to_string()];
    let url = format!("{}/api/v1/declarations", app.base);
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (http, url, villages) = (app.http.clone(), url.clone(), villages.clone());
        let (next, stop, acked) = (next.clone(), stop.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let body = bihuan::bench::bodies(n, 1, today, &villages).remove(0);
                let r = http
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("the server answers");
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
                let v: Value = r.json().await.unwrap();
                acked
                    .lock()
                    .unwrap()
                    .push(v["receipt"].as_str().unwrap().to_string());
            }
        }));
    }
    // Let the load build, then back up while it goes on.
    while acked.lock().unwrap().len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let busy = files.0.join("busy.backup");
    let done = bihuan::backup::backup(&app.services.db, &app.settings.database_url, &busy)
        .await
        .unwrap();
    assert!(done.bytes > 0);
    // A backup never overwrites a file.
    let again = bihuan::backup::backup(&app.services.db, &app.settings.database_url, &busy).await;
    assert!(again.is_err(), "an existing file must be refused");
    // Writes carried on during the copy.
    let during = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < during + 10 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let all: Vec<String> = acked.lock().unwrap().clone();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&busy).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "a backup holds health records: owner only");
    }

    // Restore the busy backup into a fresh database.
    let restored_url = fresh_database(&files.0.join("busy-restore")).await;
    std::fs::create_dir_all(files.0.join("busy-restore")).unwrap();
    bihuan::backup::restore(&busy, &restored_url, false)
        .await
        .unwrap();
    let restored = receipts(&restored_url).await;
    assert!(
        restored.iter().all(|(_, has_person)| *has_person),
        "every declaration restored has its person"
    );
    let restored_set: std::collections::BTreeSet<&str> =
        restored.iter().map(|(r, _)| r.as_str()).collect();
    for r in &before {
        assert!(
            restored_set.contains(r.as_str()),
            "acknowledged before the backup: {r}"
        );
    }
    let all_set: std::collections::BTreeSet<&str> = all.iter().map(String::as_str).collect();
    assert!(
        restored_set.iter().all(|r| all_set.contains(r)),
        "the backup holds only what was written"
    );
    assert!(
        restored.len() < all.len(),
        "the backup is a snapshot: later writes are not in it ({} of {})",
        restored.len(),
        all.len()
    );
    // Restoring over a database that holds data needs --replace.
    assert!(
        bihuan::backup::restore(&busy, &restored_url, false)
            .await
            .is_err()
    );

    // Quiet now: a backup restores to the same rows in every table.
    let quiet = files.0.join("quiet.backup");
    bihuan::backup::backup(&app.services.db, &app.settings.database_url, &quiet)
        .await
        .unwrap();
    bihuan::backup::restore(&quiet, &restored_url, true)
        .await
        .unwrap();
    let source = bihuan::backup::fingerprints(&app.settings.database_url)
        .await
        .unwrap();
    let copy = bihuan::backup::fingerprints(&restored_url).await.unwrap();
    assert!(
        source.len() > 30,
        "every table is compared: {}",
        source.len()
    );
    assert_eq!(source["declarations"].rows as usize, all.len());
    for (table, f) in &source {
        assert_eq!(
            copy.get(table),
            Some(f),
            "table {table} differs after restore"
        );
    }
    assert_eq!(source.len(), copy.len());
}

#[tokio::test]
async fn a_file_that_is_not_a_bihuan_backup_is_refused_and_changes_nothing() {
    let app = spawn().await;
    let files = scratch();
    let junk = files.0.join("junk.backup");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let target = fresh_database(&files.0.join("target")).await;
    std::fs::create_dir_all(files.0.join("target")).unwrap();
    let before = bihuan::backup::fingerprints(&app.settings.database_url)
        .await
        .unwrap();
    assert!(bihuan::backup::restore(&junk, &target, true).await.is_err());
    assert!(
        bihuan::backup::restore(&files.0.join("missing"), &target, true)
            .await
            .is_err()
    );
    let after = bihuan::backup::fingerprints(&app.settings.database_url)
        .await
        .unwrap();
    assert_eq!(before, after);
}
