//! [`AuditStore`] on SQLite.

use sqlx::{QueryBuilder, Row, Sqlite};

use crate::audit::{
    AUDIT_PAGE, AuditBatch, AuditCatchUp, AuditRow, AuditStore, CheckpointRow, Erased, NodeHash,
    Rewrap, StoredNode, WrapKeyRef, to_hash, to_i64, to_u64,
};
use crate::error::StoreError;
use crate::sqlite::SqliteStore;
use crate::sqlite_append::Appended;

/// Rows per multi-row INSERT (6 bound values each stays under SQLite's limit).
const CHUNK: usize = 4000;

/// Rows per INSERT when appending. Small and fixed, so that every statement
/// shape (1 to 64 rows) stays in the driver's prepared-statement cache instead
/// of being parsed again for every batch.
const INSERT_CHUNK: usize = 64;

fn record_row(row: &sqlx::sqlite::SqliteRow) -> Result<AuditRow, StoreError> {
    let q = StoreError::query("read audit record");
    Ok(AuditRow {
        index: to_u64(row.try_get("idx").map_err(q)?, "audit record index")?,
        record: row
            .try_get("record")
            .map_err(StoreError::query("read audit record"))?,
        leaf: to_hash(
            &row.try_get::<Vec<u8>, _>("leaf")
                .map_err(StoreError::query("read audit record"))?,
            "audit leaf",
        )?,
        payload: row
            .try_get("payload")
            .map_err(StoreError::query("read audit record"))?,
        payload_key: row
            .try_get("payload_key")
            .map_err(StoreError::query("read audit record"))?,
        created_at: row
            .try_get("created_at")
            .map_err(StoreError::query("read audit record"))?,
    })
}

impl AuditStore for SqliteStore {
    async fn audit_size(&self) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM warden_audit_records")
                .fetch_one(self.pool())
                .await
                .map_err(StoreError::query("audit size"))?;
        to_u64(n, "audit size")
    }

    async fn audit_append(&self, expected_size: u64, batch: &AuditBatch) -> Result<(), StoreError> {
        self.append_in(expected_size, batch, None).await.map(|_| ())
    }

    async fn audit_append_caught_up(
        &self,
        expected_size: u64,
        batch: &AuditBatch,
        catch_up: &mut dyn AuditCatchUp,
    ) -> Result<u64, StoreError> {
        self.append_in(expected_size, batch, Some(catch_up)).await
    }

    async fn audit_nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<StoredNode>, StoreError> {
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(StoreError::query("read audit nodes"))?;
        nodes_in(&mut conn, ids).await
    }

    async fn audit_node_range(
        &self,
        level: u8,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, NodeHash)>, StoreError> {
        let rows = sqlx::query("SELECT idx, hash FROM warden_audit_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx LIMIT ?")
            .bind(i64::from(level))
            .bind(to_i64(from)?)
            .bind(to_i64(to)?)
            .bind(to_i64(AUDIT_PAGE)?)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("read audit nodes"))?;
        rows.iter()
            .map(|r| {
                let idx: i64 = r
                    .try_get("idx")
                    .map_err(StoreError::query("read audit nodes"))?;
                let hash: Vec<u8> = r
                    .try_get("hash")
                    .map_err(StoreError::query("read audit nodes"))?;
                Ok((
                    to_u64(idx, "audit node index")?,
                    to_hash(&hash, "audit node")?,
                ))
            })
            .collect()
    }

    async fn audit_records(&self, from: u64, to: u64) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query("SELECT idx, record, leaf, payload, payload_key, created_at FROM warden_audit_records WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?")
            .bind(to_i64(from)?)
            .bind(to_i64(to)?)
            .bind(to_i64(AUDIT_PAGE)?)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("read audit records"))?;
        rows.iter().map(record_row).collect()
    }

    async fn audit_erase(&self, index: u64) -> Result<bool, StoreError> {
        // secure_delete makes SQLite overwrite the freed bytes of the key.
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(StoreError::query("erase audit payload"))?;
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await
            .map_err(StoreError::query("erase audit payload"))?;
        let done = sqlx::query("UPDATE warden_audit_records SET payload_key = NULL WHERE idx = ? AND payload_key IS NOT NULL")
            .bind(to_i64(index)?)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::query("erase audit payload"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn audit_add_wrap_key(&self, id: WrapKeyRef) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO warden_audit_wrap_keys (id, created_at, destroyed_at) VALUES (?, ?, NULL)",
        )
        .bind(id.to_vec())
        .bind(crate::migrations::now_millis())
        .execute(self.pool())
        .await
        .map_err(StoreError::query("register a payload wrapping key"))?;
        Ok(())
    }

    async fn audit_wrap_keys(&self) -> Result<Vec<(WrapKeyRef, bool)>, StoreError> {
        let op = "read payload wrapping keys";
        let rows =
            sqlx::query("SELECT id, destroyed_at FROM warden_audit_wrap_keys ORDER BY created_at")
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|r| {
                let id: Vec<u8> = r.try_get("id").map_err(StoreError::query(op))?;
                let destroyed: Option<i64> =
                    r.try_get("destroyed_at").map_err(StoreError::query(op))?;
                let id = WrapKeyRef::try_from(id.as_slice()).map_err(|_| StoreError::Corrupt {
                    what: "payload wrapping key id",
                    detail: format!("{} bytes, expected 16", id.len()),
                })?;
                Ok((id, destroyed.is_some()))
            })
            .collect()
    }

    async fn audit_erase_wrapped(
        &self,
        index: u64,
        old: WrapKeyRef,
        new: WrapKeyRef,
        rewrap: &Rewrap<'_>,
    ) -> Result<Erased, StoreError> {
        let op = "erase audit payload";
        let now = crate::migrations::now_millis();
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::query(op))?;
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        let state: Option<Option<i64>> =
            sqlx::query_scalar("SELECT destroyed_at FROM warden_audit_wrap_keys WHERE id = ?")
                .bind(old.to_vec())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
        if matches!(state, Some(Some(_))) {
            return Err(StoreError::Conflict {
                message: format!(
                    "the wrapping key {} of record {index} was already destroyed by another erasure",
                    hex::encode(old)
                ),
            });
        }
        let done = sqlx::query("UPDATE warden_audit_records SET payload_key = NULL WHERE idx = ? AND substr(payload_key, 3, 16) = ?")
            .bind(to_i64(index)?)
            .bind(old.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound {
                what: "payload key of record",
                key: index.to_string(),
            });
        }
        let rows = sqlx::query("SELECT idx, payload_key FROM warden_audit_records WHERE payload_key IS NOT NULL AND substr(payload_key, 3, 16) = ? ORDER BY idx")
            .bind(old.to_vec())
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        let mut rewrapped = 0u64;
        for row in &rows {
            let idx: i64 = row.try_get("idx").map_err(StoreError::query(op))?;
            let key: Vec<u8> = row.try_get("payload_key").map_err(StoreError::query(op))?;
            let idx = to_u64(idx, "audit record index")?;
            let again = rewrap(idx, &key).map_err(|detail| StoreError::Corrupt {
                what: "wrapped payload key",
                detail: format!("record {idx}: {detail}"),
            })?;
            sqlx::query("UPDATE warden_audit_records SET payload_key = ? WHERE idx = ?")
                .bind(again)
                .bind(to_i64(idx)?)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
            rewrapped += 1;
        }
        sqlx::query(
            "INSERT INTO warden_audit_wrap_keys (id, created_at, destroyed_at) VALUES (?, ?, NULL)",
        )
        .bind(new.to_vec())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(op))?;
        let marked = sqlx::query("UPDATE warden_audit_wrap_keys SET destroyed_at = ? WHERE id = ?")
            .bind(now)
            .bind(old.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        if marked.rows_affected() == 0 {
            sqlx::query("INSERT INTO warden_audit_wrap_keys (id, created_at, destroyed_at) VALUES (?, ?, ?)")
                .bind(old.to_vec())
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
        }
        tx.commit().await.map_err(StoreError::query(op))?;
        // Empty the write-ahead log, so that the old page (and the key in
        // it) does not linger there until the next checkpoint.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(self.pool())
            .await
            .map_err(StoreError::query(op))?;
        Ok(Erased { rewrapped })
    }

    async fn audit_put_checkpoint(&self, cp: &CheckpointRow) -> Result<(), StoreError> {
        let existing: Option<String> =
            sqlx::query_scalar("SELECT note FROM warden_audit_checkpoints WHERE size = ?")
                .bind(to_i64(cp.size)?)
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::query("store checkpoint"))?;
        match existing {
            Some(note) if note == cp.note => Ok(()),
            Some(_) => Err(StoreError::Conflict {
                message: format!(
                    "a different checkpoint of size {} is already stored",
                    cp.size
                ),
            }),
            None => {
                sqlx::query("INSERT INTO warden_audit_checkpoints (size, note, created_at) VALUES (?, ?, ?)")
                    .bind(to_i64(cp.size)?)
                    .bind(&cp.note)
                    .bind(cp.created_at)
                    .execute(self.pool())
                    .await
                    .map_err(StoreError::query("store checkpoint"))?;
                Ok(())
            }
        }
    }

    async fn audit_checkpoints(&self) -> Result<Vec<CheckpointRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT size, note, created_at FROM warden_audit_checkpoints ORDER BY size",
        )
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("read checkpoints"))?;
        rows.iter()
            .map(|r| {
                Ok(CheckpointRow {
                    size: to_u64(
                        r.try_get("size")
                            .map_err(StoreError::query("read checkpoints"))?,
                        "checkpoint size",
                    )?,
                    note: r
                        .try_get("note")
                        .map_err(StoreError::query("read checkpoints"))?,
                    created_at: r
                        .try_get("created_at")
                        .map_err(StoreError::query("read checkpoints"))?,
                })
            })
            .collect()
    }
}

impl SqliteStore {
    /// Appends `batch` at `expected_size`, or, with `catch_up`, at the log's
    /// size numbered again in the same transaction; returns the size it was
    /// appended at.
    async fn append_in(
        &self,
        expected_size: u64,
        batch: &AuditBatch,
        catch_up: Option<&mut dyn AuditCatchUp>,
    ) -> Result<u64, StoreError> {
        // The batch goes to the appending thread whole; only when another
        // writer appended meanwhile is it numbered again, here, under the
        // lock of a transaction on the pool.
        match self.appender().append(expected_size, batch.clone()).await? {
            Appended::Done => return Ok(expected_size),
            Appended::Behind { size } if catch_up.is_none() => {
                return Err(StoreError::Conflict {
                    message: format!(
                        "the audit log holds {size} records, not {expected_size}: another writer appended"
                    ),
                });
            }
            Appended::Behind { .. } => {}
        }
        let op = "append audit records";
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::query(op))?;
        // The log's size is the next index: records are dense from 0.
        let next: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM warden_audit_records")
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
        let next = to_u64(next, "audit size")?;
        let rebuilt;
        let batch = match catch_up {
            _ if next == expected_size => batch,
            None => {
                return Err(StoreError::Conflict {
                    message: format!(
                        "the audit log holds {next} records, not {expected_size}: another writer appended"
                    ),
                });
            }
            Some(catch_up) => {
                // Numbered again under the lock: nobody can append meanwhile.
                let border = catch_up.border(next);
                let nodes = nodes_in(&mut tx, &border).await?;
                rebuilt = catch_up.rebuild(next, &nodes)?;
                &rebuilt
            }
        };
        if let Some(id) = batch.wrap_key {
            let state: Option<Option<i64>> =
                sqlx::query_scalar("SELECT destroyed_at FROM warden_audit_wrap_keys WHERE id = ?")
                    .bind(id.to_vec())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(StoreError::query(op))?;
            if !matches!(state, Some(None)) {
                return Err(StoreError::WrapKeyDestroyed {
                    id: hex::encode(id),
                });
            }
        }
        for chunk in batch.records.chunks(INSERT_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO warden_audit_records (idx, record, leaf, payload, payload_key, created_at) ",
            );
            let mut bad = None;
            q.push_values(chunk, |mut b, r| {
                let idx = to_i64(r.index).unwrap_or_else(|e| {
                    bad = Some(e);
                    0
                });
                b.push_bind(idx)
                    .push_bind(r.record.clone())
                    .push_bind(r.leaf.to_vec())
                    .push_bind(r.payload.clone())
                    .push_bind(r.payload_key.clone())
                    .push_bind(r.created_at);
            });
            if let Some(e) = bad {
                return Err(e);
            }
            q.build()
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
        }
        for chunk in batch.nodes.chunks(INSERT_CHUNK) {
            let mut q =
                QueryBuilder::<Sqlite>::new("INSERT INTO warden_audit_nodes (level, idx, hash) ");
            let mut bad = None;
            q.push_values(chunk, |mut b, (level, index, hash)| {
                let idx = to_i64(*index).unwrap_or_else(|e| {
                    bad = Some(e);
                    0
                });
                b.push_bind(i64::from(*level))
                    .push_bind(idx)
                    .push_bind(hash.to_vec());
            });
            if let Some(e) = bad {
                return Err(e);
            }
            q.build()
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
        }
        crate::inventory::write_activity_sqlite(&mut tx, &batch.activity, &batch.classes).await?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(next)
    }
}

/// The stored nodes among `ids`, read on `conn` (a transaction's, to see
/// what it wrote and nothing appended after it took the lock).
async fn nodes_in(
    conn: &mut sqlx::SqliteConnection,
    ids: &[(u8, u64)],
) -> Result<Vec<StoredNode>, StoreError> {
    // Two queries however many nodes: a proof reads O(log n) of them.
    let op = "read audit nodes";
    let mut out = Vec::with_capacity(ids.len());
    let leaves: Vec<i64> = ids
        .iter()
        .filter(|(level, _)| *level == 0)
        .map(|&(_, index)| to_i64(index))
        .collect::<Result<_, _>>()?;
    let inner: Vec<(i64, i64)> = ids
        .iter()
        .filter(|(level, _)| *level > 0)
        .map(|&(level, index)| Ok((i64::from(level), to_i64(index)?)))
        .collect::<Result<_, StoreError>>()?;
    for chunk in leaves.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT idx, leaf AS hash FROM warden_audit_records WHERE idx IN (",
        );
        let mut sep = q.separated(", ");
        for idx in chunk {
            sep.push_bind(*idx);
        }
        q.push(")");
        for row in q
            .build()
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::query(op))?
        {
            let idx: i64 = row.try_get("idx").map_err(StoreError::query(op))?;
            let hash: Vec<u8> = row.try_get("hash").map_err(StoreError::query(op))?;
            out.push((
                (0, to_u64(idx, "audit node index")?),
                to_hash(&hash, "audit leaf")?,
            ));
        }
    }
    for chunk in inner.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT level, idx, hash FROM warden_audit_nodes WHERE (level, idx) IN (",
        );
        let mut first = true;
        for (level, idx) in chunk {
            if !first {
                q.push(", ");
            }
            first = false;
            q.push("(")
                .push_bind(*level)
                .push(", ")
                .push_bind(*idx)
                .push(")");
        }
        q.push(")");
        for row in q
            .build()
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::query(op))?
        {
            let level: i64 = row.try_get("level").map_err(StoreError::query(op))?;
            let idx: i64 = row.try_get("idx").map_err(StoreError::query(op))?;
            let hash: Vec<u8> = row.try_get("hash").map_err(StoreError::query(op))?;
            let level = u8::try_from(level).map_err(|_| StoreError::Corrupt {
                what: "audit node level",
                detail: level.to_string(),
            })?;
            out.push((
                (level, to_u64(idx, "audit node index")?),
                to_hash(&hash, "audit node")?,
            ));
        }
    }
    Ok(out)
}
