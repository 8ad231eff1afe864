//! Routing suggestions (分门办访, DOMAIN.md §2 and §4): two classifiers
//! learned from the deployment's own decided cases — the category chosen at
//! triage, and the department that finally led the handling — stored in the
//! database with a version so every instance uses the same model, retrained in
//! the background as cases are decided, and swapped in without a restart. At
//! triage and dispatch they offer the top 3 with their confidence and, above a
//! threshold, a pre-filled choice; what the person finally chose is recorded
//! next to what was suggested.

use crate::{App, AppError, Result, StaffUser};
use std::sync::{Arc, RwLock};
use suqiu_domain::case::{Event, Millis};
use suqiu_domain::workflow::Command;
use suqiu_store::{RoutingLabel, RoutingModelRow};
use suqiu_text::{Model, TrainConfig};

/// The two kinds of model.
pub const CATEGORY: &str = "category";
pub const UNIT: &str = "unit";
/// Fewest decided cases (and labels) worth learning from.
pub const MIN_EXAMPLES: usize = 20;
/// Retrain when this many more cases were decided since the model in use.
pub const RETRAIN_AFTER: i64 = 50;
/// Most recent decided cases used for training.
const MAX_EXAMPLES: u32 = 200_000;

struct Loaded {
    version: i64,
    n_train: i64,
    model: Arc<Model>,
}

/// The models in use by this instance.
#[derive(Default)]
pub struct RoutingModels {
    category: RwLock<Option<Loaded>>,
    unit: RwLock<Option<Loaded>>,
}

impl RoutingModels {
    fn slot(&self, kind: &str) -> &RwLock<Option<Loaded>> {
        if kind == UNIT {
            &self.unit
        } else {
            &self.category
        }
    }

    fn get(&self, kind: &str) -> Option<(i64, i64, Arc<Model>)> {
        self.slot(kind)
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|l| (l.version, l.n_train, l.model.clone())))
    }
}

/// One suggestion.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Suggestion {
    /// A category, or a unit code.
    pub value: String,
    /// The unit's name (units only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub confidence: f32,
}

/// Suggestions for one decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Suggestions {
    /// The model's version; `None` while no model has been trained.
    pub model_version: Option<i64>,
    pub top: Vec<Suggestion>,
    /// The first suggestion, when confident enough to fill in the form.
    pub prefill: Option<String>,
}

/// What one training did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trained {
    pub kind: &'static str,
    pub version: Option<i64>,
    pub n_train: usize,
    pub labels: usize,
    pub seconds: f64,
}

/// The text a routing model reads: the title and content as filed.
pub(crate) fn case_text(e: &Event) -> Option<String> {
    match e {
        Event::Received(i) => Some(format!("{}。{}", i.title, i.content)),
        _ => None,
    }
}

impl App {
    /// Confidence at which the first suggestion pre-fills the form (0.0–1.0).
    pub fn with_routing_threshold(mut self, t: f32) -> App {
        self.routing_threshold = t.clamp(0.0, 1.0);
        self
    }

    /// Loads any model newer than the ones in use (cheap when none is).
    pub async fn refresh_routing_models(&self) -> Result<()> {
        for kind in [CATEGORY, UNIT] {
            let known = self.routing.get(kind).map(|(v, _, _)| v);
            if let Some(row) = self.store().latest_routing_model(kind, known).await? {
                let model = tokio::task::spawn_blocking(move || {
                    Model::from_bytes(&row.model).map(|m| (row, m))
                })
                .await
                .map_err(|e| AppError::Journal(e.to_string()))?;
                let (row, model) =
                    model.map_err(|e| AppError::Journal(format!("routing model: {e}")))?;
                if let Ok(mut g) = self.routing.slot(kind).write() {
                    *g = Some(Loaded {
                        version: row.version,
                        n_train: row.n_train,
                        model: Arc::new(model),
                    });
                }
                tracing::info!(kind, version = row.version, "routing model loaded");
            }
        }
        Ok(())
    }

    /// Trains a model of `kind` on `(text, label)` pairs and stores it as the
    /// newest version (then every instance picks it up).
    pub async fn store_routing_model(
        &self,
        kind: &'static str,
        data: Vec<(String, String)>,
        source: &str,
    ) -> Result<Trained> {
        let labels = data
            .iter()
            .map(|(_, l)| l)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let n = data.len();
        if n < MIN_EXAMPLES || labels < 2 {
            return Ok(Trained {
                kind,
                version: None,
                n_train: n,
                labels,
                seconds: 0.0,
            });
        }
        let started = std::time::Instant::now();
        let bytes = tokio::task::spawn_blocking(move || {
            Model::train(&data, &TrainConfig::default()).to_bytes()
        })
        .await
        .map_err(|e| AppError::Journal(e.to_string()))?;
        let seconds = started.elapsed().as_secs_f64();
        let version = self
            .store()
            .put_routing_model(RoutingModelRow {
                version: 0,
                kind: kind.to_string(),
                created_at: self.now(),
                n_train: n as i64,
                source: source.to_string(),
                model: bytes,
            })
            .await?;
        self.refresh_routing_models().await?;
        Ok(Trained {
            kind,
            version: Some(version),
            n_train: n,
            labels,
            seconds,
        })
    }

    /// Trains both models from the decided cases, when enough were decided
    /// since the models in use (or `force`).
    pub async fn retrain_routing(&self, force: bool) -> Result<Vec<Trained>> {
        let examples = self.store().routing_examples(MAX_EXAMPLES).await?;
        let mut category = Vec::new();
        let mut unit = Vec::new();
        for e in examples {
            let Some(text) = case_text(&e.received) else {
                continue;
            };
            if let Some(Event::Dispatched { lead, .. }) = &e.dispatched {
                unit.push((text.clone(), lead.clone()));
            }
            if let Some(c) = e.category {
                category.push((text, c));
            }
        }
        let mut out = Vec::new();
        for (kind, data) in [(CATEGORY, category), (UNIT, unit)] {
            let in_use = self.routing.get(kind).map(|(_, n, _)| n).unwrap_or(0);
            if force || data.len() as i64 >= in_use + RETRAIN_AFTER {
                out.push(
                    self.store_routing_model(kind, data, "decided cases")
                        .await?,
                );
            }
        }
        Ok(out)
    }

    /// Checks for newer models every `every`, and retrains when enough cases
    /// were decided, until the app is dropped.
    pub fn spawn_routing_trainer(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = app.refresh_routing_models().await {
                    tracing::warn!(error = %e, "loading routing models failed");
                }
                match app.retrain_routing(false).await {
                    Ok(t) => {
                        for t in t.iter().filter(|t| t.version.is_some()) {
                            tracing::info!(kind = t.kind, n = t.n_train, "routing model retrained");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "routing retraining failed"),
                }
            }
        })
    }

    fn suggest(&self, kind: &str, text: &str, allowed: &dyn Fn(&str) -> bool) -> Suggestions {
        let Some((version, _, model)) = self.routing.get(kind) else {
            return Suggestions {
                model_version: None,
                top: vec![],
                prefill: None,
            };
        };
        let mut ranked: Vec<(String, f32)> = model
            .predict(text)
            .into_iter()
            .filter(|(l, _)| allowed(l))
            .collect();
        // the model's confidences over the labels still allowed
        let total: f32 = ranked.iter().map(|(_, p)| p).sum();
        if total > 0.0 {
            ranked.iter_mut().for_each(|(_, p)| *p /= total);
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(3);
        let prefill = ranked
            .first()
            .filter(|(_, p)| *p >= self.routing_threshold)
            .map(|(l, _)| l.clone());
        let top = ranked
            .into_iter()
            .map(|(value, confidence)| Suggestion {
                name: (kind == UNIT).then(|| self.unit_name(&value)),
                value,
                confidence,
            })
            .collect();
        Suggestions {
            model_version: Some(version),
            top,
            prefill,
        }
    }

    /// Category and department suggestions for a case the user may see.
    pub async fn routing_suggestions(
        &self,
        user: &StaffUser,
        id: i64,
    ) -> Result<(Suggestions, Suggestions)> {
        let view = self.visible_case(user, id).await?;
        let text = view
            .events
            .iter()
            .find_map(|e| case_text(&e.event))
            .unwrap_or_default();
        Ok((
            self.suggest_for(CATEGORY, &text),
            self.suggest_for(UNIT, &text),
        ))
    }

    /// Suggestions of one kind, among the configured categories or the departments.
    fn suggest_for(&self, kind: &str, text: &str) -> Suggestions {
        if kind == CATEGORY {
            let categories = &self.rules().categories;
            self.suggest(kind, text, &|l| categories.iter().any(|c| c == l))
        } else {
            self.suggest(kind, text, &|l| self.is_department(l))
        }
    }

    /// Records what was suggested for a triage or dispatch and what was chosen.
    pub(crate) async fn record_routing_label(
        &self,
        user: &StaffUser,
        id: i64,
        text: &str,
        cmd: &Command,
        at: Millis,
    ) {
        let (kind, chosen) = match cmd {
            Command::Triage { category, .. } => (CATEGORY, category.clone()),
            Command::Dispatch { lead, .. } => (UNIT, lead.clone()),
            _ => return,
        };
        let s = self.suggest_for(kind, text);
        let label = RoutingLabel {
            case_id: id,
            kind: kind.to_string(),
            model_version: s.model_version,
            suggested: s.top.first().map(|t| t.value.clone()),
            confidence: s.top.first().map(|t| f64::from(t.confidence)),
            chosen,
            by_login: user.login.clone(),
            at,
        };
        if let Err(e) = self.store().add_routing_label(label).await {
            tracing::warn!(error = %e, "recording a routing label failed");
        }
    }

    /// How often the first suggestion was what people chose, since `since`.
    pub async fn routing_agreement(&self, kind: &str, since: Millis) -> Result<serde_json::Value> {
        let labels = self.store().routing_labels(kind, since).await?;
        let with = labels.iter().filter(|l| l.suggested.is_some()).count();
        let agreed = labels
            .iter()
            .filter(|l| l.suggested.as_deref() == Some(l.chosen.as_str()))
            .count();
        Ok(serde_json::json!({
            "kind": kind,
            "decisions": labels.len(),
            "with_suggestion": with,
            "first_suggestion_chosen": agreed,
            "agreement": if with > 0 { agreed as f64 / with as f64 } else { 0.0 },
        }))
    }
}
