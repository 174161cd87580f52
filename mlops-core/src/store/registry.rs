//! Registry operations of the embedded store: registered models, versions, aliases, tags,
//! lineage queries and the audit log.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::Inner;
use super::db::write_tx;
use crate::error::{Error, Result};
use crate::ids::{DatasetId, ModelRef, RunId, VersionSelector};
use crate::lineage::LineageEdge;
use crate::registry::*;
use crate::tracking::now_ms;
use crate::validation::*;

fn audit(
    tx: &Transaction<'_>,
    change: &Change,
    action: &str,
    entity: &str,
    detail: serde_json::Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit_log (time, actor, action, entity, detail, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![now_ms(), change.actor, action, entity, detail.to_string(), change.reason])?;
    Ok(())
}

fn version_row(row: &Row<'_>) -> rusqlite::Result<(ModelVersion, Option<String>, Option<String>)> {
    let status: String = row.get(6)?;
    Ok((
        ModelVersion {
            name: row.get(0)?,
            version: row.get::<_, i64>(1)? as u64,
            source: row.get(2)?,
            run_id: None,
            artifact_digest: None,
            description: row.get(5)?,
            status: match status.as_str() {
                "PENDING_REGISTRATION" => ModelVersionStatus::Pending,
                "FAILED_REGISTRATION" => ModelVersionStatus::Failed,
                _ => ModelVersionStatus::Ready,
            },
            user_id: row.get(7)?,
            creation_time: row.get(8)?,
            last_update_time: row.get(9)?,
            tags: BTreeMap::new(),
            aliases: Vec::new(),
        },
        row.get(3)?,
        row.get(4)?,
    ))
}

fn load_version(conn: &Connection, name: &str, version: u64) -> Result<Option<ModelVersion>> {
    let row = conn
        .prepare_cached(
            "SELECT name, version, source, run_id, artifact_digest, description, status, user_id, \
             creation_time, last_update_time FROM model_versions WHERE name = ?1 AND version = ?2",
        )?
        .query_row(params![name, version as i64], version_row)
        .optional()?;
    let Some((mut mv, run, digest)) = row else {
        return Ok(None);
    };
    mv.run_id = run.map(|r| r.parse::<RunId>()).transpose()?;
    mv.artifact_digest = digest.map(|d| d.parse()).transpose()?;
    let mut stmt = conn.prepare_cached(
        "SELECT key, value FROM model_version_tags WHERE name = ?1 AND version = ?2",
    )?;
    for row in stmt.query_map(params![name, version as i64], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })? {
        let (k, v) = row?;
        mv.tags.insert(k, v);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT alias FROM aliases WHERE name = ?1 AND version = ?2 ORDER BY alias",
    )?;
    mv.aliases = stmt
        .query_map(params![name, version as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(mv))
}

fn require_version(conn: &Connection, name: &str, version: u64) -> Result<ModelVersion> {
    load_version(conn, name, version)?
        .ok_or_else(|| Error::not_found("model version", format!("{name}@{version}")))
}

fn load_model(conn: &Connection, name: &str) -> Result<Option<RegisteredModel>> {
    let row = conn
        .prepare_cached(
            "SELECT name, description, creation_time, last_update_time FROM registered_models WHERE name = ?1",
        )?
        .query_row([name], |r| {
            Ok(RegisteredModel {
                name: r.get(0)?,
                description: r.get(1)?,
                creation_time: r.get(2)?,
                last_update_time: r.get(3)?,
                tags: BTreeMap::new(),
                aliases: BTreeMap::new(),
                latest_version: None,
            })
        })
        .optional()?;
    let Some(mut m) = row else { return Ok(None) };
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM registered_model_tags WHERE name = ?1")?;
    for row in stmt.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (k, v) = row?;
        m.tags.insert(k, v);
    }
    let mut stmt = conn.prepare_cached("SELECT alias, version FROM aliases WHERE name = ?1")?;
    for row in stmt.query_map([name], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (a, v) = row?;
        m.aliases.insert(a, v as u64);
    }
    let latest: Option<i64> = conn
        .prepare_cached("SELECT MAX(version) FROM model_versions WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?;
    m.latest_version = latest.map(|v| v as u64);
    Ok(Some(m))
}

fn require_model(conn: &Connection, name: &str) -> Result<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM registered_models WHERE name = ?1)")?
        .query_row([name], |r| r.get(0))?;
    if exists {
        Ok(())
    } else {
        Err(Error::not_found("registered model", name))
    }
}

impl Inner {
    pub(crate) fn create_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        check_model_name(name)?;
        check_registry_value("model description", description)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                if load_model(tx, name)?.is_some() {
                    return Err(Error::already_exists("registered model", name));
                }
                let now = now_ms();
                tx.execute(
                    "INSERT INTO registered_models (name, description, creation_time, last_update_time) VALUES (?1, ?2, ?3, ?3)",
                    params![name, description, now],
                )?;
                load_model(tx, name)?.ok_or_else(|| Error::not_found("registered model", name))
            })
        })
    }

    pub(crate) fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.pool.with(|conn| {
            load_model(conn, name)?.ok_or_else(|| Error::not_found("registered model", name))
        })
    }

    pub(crate) fn list_registered_models(&self) -> Result<Vec<RegisteredModel>> {
        self.pool.with(|conn| {
            let names: Vec<String> = conn
                .prepare("SELECT name FROM registered_models ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names
                .iter()
                .filter_map(|n| load_model(conn, n).transpose())
                .collect()
        })
    }

    pub(crate) fn update_registered_model(&self, name: &str, description: &str) -> Result<()> {
        check_registry_value("model description", description)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let n = tx.execute(
                    "UPDATE registered_models SET description = ?1, last_update_time = ?2 WHERE name = ?3",
                    params![description, now_ms(), name],
                )?;
                if n == 0 { Err(Error::not_found("registered model", name)) } else { Ok(()) }
            })
        })
    }

    pub(crate) fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        check_key("model tag key", key)?;
        check_registry_value("model tag value", value)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                require_model(tx, name)?;
                tx.execute(
                    "INSERT OR REPLACE INTO registered_model_tags (name, key, value) VALUES (?1, ?2, ?3)",
                    params![name, key, value],
                )?;
                Ok(())
            })
        })
    }

    pub(crate) fn delete_registered_model(&self, name: &str, change: &Change) -> Result<()> {
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let model = load_model(tx, name)?
                    .ok_or_else(|| Error::not_found("registered model", name))?;
                let versions: Vec<i64> = tx
                    .prepare_cached("SELECT version FROM model_versions WHERE name = ?1")?
                    .query_map([name], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for sql in [
                    "DELETE FROM aliases WHERE name = ?1",
                    "DELETE FROM model_version_tags WHERE name = ?1",
                    "DELETE FROM model_versions WHERE name = ?1",
                    "DELETE FROM registered_model_tags WHERE name = ?1",
                    "DELETE FROM registered_models WHERE name = ?1",
                ] {
                    tx.execute(sql, [name])?;
                }
                let detail = serde_json::json!({ "versions": versions, "aliases": model.aliases });
                audit(
                    tx,
                    change,
                    "delete_registered_model",
                    &format!("model:{name}"),
                    detail,
                )
            })
        })
    }

    pub(crate) fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion> {
        check_model_name(&new.name)?;
        check_registry_value("model version source", &new.source)?;
        check_registry_value("model version description", &new.description)?;
        for (k, v) in &new.tags {
            check_key("model version tag key", k)?;
            check_registry_value("model version tag value", v)?;
        }
        if let Some(run) = &new.run_id {
            self.pool.with(|conn| {
                let exists: bool = conn
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?1)")?
                    .query_row([run.to_string()], |r| r.get(0))?;
                if exists {
                    Ok(())
                } else {
                    Err(Error::not_found("run", run.to_string()))
                }
            })?;
        }
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let now = now_ms();
                tx.execute(
                    "INSERT OR IGNORE INTO registered_models (name, creation_time, last_update_time) VALUES (?1, ?2, ?2)",
                    params![new.name, now],
                )?;
                // The counter lives in the model's row; the write lock of this transaction
                // makes max + 1 atomic across threads and processes.
                let version: i64 = tx.query_row(
                    "UPDATE registered_models SET last_version = last_version + 1, last_update_time = ?2 \
                     WHERE name = ?1 RETURNING last_version",
                    params![new.name, now],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO model_versions (name, version, source, run_id, artifact_digest, description, \
                     status, user_id, creation_time, last_update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'READY', ?7, ?8, ?8)",
                    params![
                        new.name,
                        version,
                        new.source,
                        new.run_id.map(|r| r.to_string()),
                        new.artifact_digest.map(|d| d.to_hex()),
                        new.description,
                        user,
                        now
                    ],
                )?;
                for (k, v) in &new.tags {
                    tx.execute(
                        "INSERT OR REPLACE INTO model_version_tags (name, version, key, value) VALUES (?1, ?2, ?3, ?4)",
                        params![new.name, version, k, v],
                    )?;
                }
                if let Some(run) = &new.run_id {
                    tx.execute(
                        "INSERT OR IGNORE INTO lineage_edges (src_kind, src_id, dst_kind, dst_id, relation, created) \
                         VALUES ('run', ?1, 'model_version', ?2, 'produced', ?3)",
                        params![run.to_string(), format!("{}@{version}", new.name), now],
                    )?;
                }
                require_version(tx, &new.name, version as u64)
            })
        })
    }

    pub(crate) fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        self.pool.with(|conn| require_version(conn, name, version))
    }

    pub(crate) fn resolve(&self, model: &ModelRef) -> Result<ModelVersion> {
        self.pool.with(|conn| {
            let version = match &model.selector {
                VersionSelector::Version(v) => *v,
                VersionSelector::Alias(a) => {
                    let v: Option<i64> = conn
                        .prepare_cached(
                            "SELECT version FROM aliases WHERE name = ?1 AND alias = ?2",
                        )?
                        .query_row(params![model.name, a], |r| r.get(0))
                        .optional()?;
                    v.ok_or_else(|| Error::not_found("model alias", model.to_string()))? as u64
                }
                VersionSelector::Latest => {
                    let v: Option<i64> = conn
                        .prepare_cached("SELECT MAX(version) FROM model_versions WHERE name = ?1")?
                        .query_row([&model.name], |r| r.get(0))?;
                    v.ok_or_else(|| Error::not_found("model version", model.to_string()))? as u64
                }
            };
            require_version(conn, &model.name, version)
        })
    }

    pub(crate) fn list_model_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        self.pool.with(|conn| {
            require_model(conn, name)?;
            let versions: Vec<i64> = conn
                .prepare_cached(
                    "SELECT version FROM model_versions WHERE name = ?1 ORDER BY version",
                )?
                .query_map([name], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            versions
                .into_iter()
                .filter_map(|v| load_version(conn, name, v as u64).transpose())
                .collect()
        })
    }

    pub(crate) fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<()> {
        check_registry_value("model version description", description)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let n = tx.execute(
                    "UPDATE model_versions SET description = ?1, last_update_time = ?2 WHERE name = ?3 AND version = ?4",
                    params![description, now_ms(), name, version as i64],
                )?;
                if n == 0 { Err(Error::not_found("model version", format!("{name}@{version}"))) } else { Ok(()) }
            })
        })
    }

    pub(crate) fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        check_key("model version tag key", key)?;
        check_registry_value("model version tag value", value)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                require_version(tx, name, version)?;
                tx.execute(
                    "INSERT OR REPLACE INTO model_version_tags (name, version, key, value) VALUES (?1, ?2, ?3, ?4)",
                    params![name, version as i64, key, value],
                )?;
                Ok(())
            })
        })
    }

    pub(crate) fn delete_model_version(
        &self,
        name: &str,
        version: u64,
        change: &Change,
    ) -> Result<()> {
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let mv = require_version(tx, name, version)?;
                let v = version as i64;
                tx.execute(
                    "DELETE FROM aliases WHERE name = ?1 AND version = ?2",
                    params![name, v],
                )?;
                tx.execute(
                    "DELETE FROM model_version_tags WHERE name = ?1 AND version = ?2",
                    params![name, v],
                )?;
                tx.execute(
                    "DELETE FROM model_versions WHERE name = ?1 AND version = ?2",
                    params![name, v],
                )?;
                let detail = serde_json::json!({
                    "version": version,
                    "aliases_removed": mv.aliases,
                    "source": mv.source,
                    "run_id": mv.run_id.map(|r| r.to_string()),
                });
                audit(
                    tx,
                    change,
                    "delete_model_version",
                    &format!("model:{name}@{version}"),
                    detail,
                )
            })
        })
    }

    pub(crate) fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
        change: &Change,
    ) -> Result<()> {
        check_alias(alias)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                require_version(tx, name, version)?;
                let previous: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM aliases WHERE name = ?1 AND alias = ?2",
                        params![name, alias],
                        |r| r.get(0),
                    )
                    .optional()?;
                tx.execute(
                    "INSERT OR REPLACE INTO aliases (name, alias, version) VALUES (?1, ?2, ?3)",
                    params![name, alias, version as i64],
                )?;
                tx.execute(
                    "UPDATE registered_models SET last_update_time = ?1 WHERE name = ?2",
                    params![now_ms(), name],
                )?;
                let detail = serde_json::json!({ "alias": alias, "from": previous, "to": version });
                audit(
                    tx,
                    change,
                    "set_alias",
                    &format!("model:{name}@{alias}"),
                    detail,
                )
            })
        })
    }

    pub(crate) fn delete_alias(&self, name: &str, alias: &str, change: &Change) -> Result<()> {
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let previous: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM aliases WHERE name = ?1 AND alias = ?2",
                        params![name, alias],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(previous) = previous else {
                    return Err(Error::not_found("model alias", format!("{name}@{alias}")));
                };
                tx.execute(
                    "DELETE FROM aliases WHERE name = ?1 AND alias = ?2",
                    params![name, alias],
                )?;
                let detail = serde_json::json!({ "alias": alias, "from": previous });
                audit(
                    tx,
                    change,
                    "delete_alias",
                    &format!("model:{name}@{alias}"),
                    detail,
                )
            })
        })
    }

    pub(crate) fn audit_log(&self, entity_prefix: Option<&str>) -> Result<Vec<AuditEvent>> {
        self.pool.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, time, actor, action, entity, detail, reason FROM audit_log \
                 WHERE substr(entity, 1, length(?1)) = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([entity_prefix.unwrap_or("")], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get::<_, String>(5)?,
                    r.get(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, time, actor, action, entity, detail, reason) = row?;
                let detail =
                    serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail));
                out.push(AuditEvent {
                    seq,
                    time,
                    actor,
                    action,
                    entity,
                    detail,
                    reason,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn add_lineage_edge(&self, edge: &LineageEdge) -> Result<()> {
        check_key("lineage relation", &edge.relation)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                tx.execute(
                    "INSERT OR IGNORE INTO lineage_edges (src_kind, src_id, dst_kind, dst_id, relation, created) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![edge.src.kind(), edge.src.id(), edge.dst.kind(), edge.dst.id(), edge.relation, now_ms()],
                )?;
                Ok(())
            })
        })
    }

    pub(crate) fn versions_from_dataset(&self, dataset: &DatasetId) -> Result<Vec<ModelVersion>> {
        self.pool.with(|conn| {
            let ids: Vec<String> = conn
                .prepare_cached(
                    "WITH RECURSIVE down(kind, id) AS ( \
                       SELECT 'dataset', ?1 \
                       UNION SELECT e.dst_kind, e.dst_id FROM lineage_edges e \
                             JOIN down d ON e.src_kind = d.kind AND e.src_id = d.id) \
                     SELECT id FROM down WHERE kind = 'model_version'",
                )?
                .query_map([dataset.as_str()], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::new();
            for id in ids {
                let r: ModelRef = id.parse()?;
                if let VersionSelector::Version(v) = r.selector
                    && let Some(mv) = load_version(conn, &r.name, v)?
                {
                    out.push(mv);
                }
            }
            out.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
            Ok(out)
        })
    }

    pub(crate) fn datasets_of_version(&self, name: &str, version: u64) -> Result<Vec<DatasetId>> {
        self.pool.with(|conn| {
            require_version(conn, name, version)?;
            let ids: Vec<String> = conn
                .prepare_cached(
                    "WITH RECURSIVE up(kind, id) AS ( \
                       SELECT 'model_version', ?1 \
                       UNION SELECT e.src_kind, e.src_id FROM lineage_edges e \
                             JOIN up u ON e.dst_kind = u.kind AND e.dst_id = u.id) \
                     SELECT id FROM up WHERE kind = 'dataset' ORDER BY id",
                )?
                .query_map([format!("{name}@{version}")], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|s| DatasetId::parse(s)).collect()
        })
    }
}
