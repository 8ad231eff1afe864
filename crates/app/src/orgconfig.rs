//! The organisation config file (TOML): district, streets, communities, grids,
//! hamlets, departments and users. See `config/demo-district.toml`.

use serde::Deserialize;
use std::collections::BTreeMap;
use suqiu_domain::org::{Level, OrgError, OrgTree, Person, Role, Unit};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum OrgConfigError {
    #[error("organisation file is not valid TOML: {0}")]
    Toml(String),
    #[error("organisation is inconsistent: {0}")]
    Org(#[from] OrgError),
    #[error("user {login}: unknown role {role:?}")]
    UnknownRole { login: String, role: String },
    #[error("community {community}: hamlets name unknown grid {grid:?}")]
    UnknownHamletGrid { community: String, grid: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    district: NamedUnit,
    #[serde(default)]
    street: Vec<StreetCfg>,
    #[serde(default)]
    department: Vec<NamedUnit>,
    /// Oversight organs outside the district (纪检监察机关): where an
    /// accusation against the whole district is forwarded.
    #[serde(default)]
    oversight: Vec<NamedUnit>,
    #[serde(default)]
    user: Vec<UserCfg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedUnit {
    code: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreetCfg {
    code: String,
    name: String,
    #[serde(default)]
    community: Vec<CommunityCfg>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommunityCfg {
    code: String,
    name: String,
    #[serde(default)]
    grids: Vec<String>,
    #[serde(default)]
    hamlets: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserCfg {
    login: String,
    name: String,
    role: String,
    unit: String,
    #[serde(default)]
    linked: Vec<String>,
    /// Only for demo and test configs; real deployments set passwords by command.
    #[serde(default)]
    password: Option<String>,
}

/// A parsed organisation: the validated tree and the initial passwords.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    pub tree: OrgTree,
    pub passwords: BTreeMap<String, String>,
}

pub fn parse(text: &str) -> Result<OrgConfig, OrgConfigError> {
    let f: File = toml::from_str(text).map_err(|e| OrgConfigError::Toml(e.to_string()))?;
    let mut units = vec![Unit {
        code: f.district.code.clone(),
        name: f.district.name.clone(),
        level: Level::District,
        parent: None,
    }];
    for s in &f.street {
        units.push(Unit {
            code: s.code.clone(),
            name: s.name.clone(),
            level: Level::Street,
            parent: Some(f.district.code.clone()),
        });
        for c in &s.community {
            units.push(Unit {
                code: c.code.clone(),
                name: c.name.clone(),
                level: Level::Community,
                parent: Some(s.code.clone()),
            });
            let mut grid_codes = BTreeMap::new();
            for (i, g) in c.grids.iter().enumerate() {
                let code = format!("{}-{:02}", c.code, i + 1);
                grid_codes.insert(g.clone(), code.clone());
                units.push(Unit {
                    code,
                    name: format!("{}{}", c.name, g),
                    level: Level::Grid,
                    parent: Some(c.code.clone()),
                });
            }
            for (grid, hamlets) in &c.hamlets {
                let gcode =
                    grid_codes
                        .get(grid)
                        .ok_or_else(|| OrgConfigError::UnknownHamletGrid {
                            community: c.code.clone(),
                            grid: grid.clone(),
                        })?;
                for (i, h) in hamlets.iter().enumerate() {
                    units.push(Unit {
                        code: format!("{gcode}-H{}", i + 1),
                        name: format!("{}{}", c.name, h),
                        level: Level::Hamlet,
                        parent: Some(gcode.clone()),
                    });
                }
            }
        }
    }
    for d in &f.department {
        units.push(Unit {
            code: d.code.clone(),
            name: d.name.clone(),
            level: Level::Department,
            parent: Some(f.district.code.clone()),
        });
    }
    for o in &f.oversight {
        units.push(Unit {
            code: o.code.clone(),
            name: o.name.clone(),
            level: Level::Oversight,
            parent: None,
        });
    }
    let mut people = Vec::new();
    let mut passwords = BTreeMap::new();
    for u in f.user {
        let role = Role::parse(&u.role).ok_or_else(|| OrgConfigError::UnknownRole {
            login: u.login.clone(),
            role: u.role.clone(),
        })?;
        if let Some(p) = u.password {
            passwords.insert(u.login.clone(), p);
        }
        people.push(Person {
            login: u.login,
            name: u.name,
            role,
            unit: u.unit,
            linked_units: u.linked,
        });
    }
    Ok(OrgConfig {
        tree: OrgTree::new(units, people)?,
        passwords,
    })
}

/// The demo district shipped with suqiu (芙蓉湾区).
pub const DEMO_DISTRICT: &str = include_str!("../../../config/demo-district.toml");

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "Suqiu@2026";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_district_has_the_promised_shape() {
        let cfg = parse(DEMO_DISTRICT).unwrap();
        let t = &cfg.tree;
        assert_eq!(t.count(Level::District), 1);
        assert_eq!(t.count(Level::Street), 5);
        assert_eq!(t.count(Level::Community), 25);
        assert_eq!(t.count(Level::Grid), 120);
        assert_eq!(t.count(Level::Department), 15);
        assert!(t.count(Level::Hamlet) >= 10);
        for role in Role::ALL {
            assert!(
                t.people().iter().any(|p| p.role == role),
                "no demo user for {role:?}"
            );
        }
        assert!(t
            .people()
            .iter()
            .all(|p| cfg.passwords.get(&p.login).map(String::as_str) == Some(DEMO_PASSWORD)));
        assert!(t
            .people()
            .iter()
            .any(|p| p.role == Role::Leader && !p.linked_units.is_empty()));
    }

    #[test]
    fn shipped_rules_file_is_the_default() {
        let text = include_str!("../../../config/deadline-rules.toml");
        let rules = crate::App::parse_rules(text).unwrap();
        assert_eq!(rules, suqiu_domain::workflow::DeadlineRules::default());
    }

    #[test]
    fn errors_are_clear() {
        let e = parse("[district]\ncode = \"D\"\n").unwrap_err();
        assert!(matches!(e, OrgConfigError::Toml(_)), "{e}");
        let e = parse("[district]\ncode = \"D\"\nname = \"区\"\n[[user]]\nlogin = \"x\"\nname = \"x\"\nrole = \"king\"\nunit = \"D\"\n")
            .unwrap_err();
        assert!(matches!(e, OrgConfigError::UnknownRole { .. }), "{e}");
        let e = parse("[district]\ncode = \"D\"\nname = \"区\"\n[[department]]\ncode = \"D\"\nname = \"局\"\n").unwrap_err();
        assert!(
            matches!(e, OrgConfigError::Org(OrgError::DuplicateUnit(_))),
            "{e}"
        );
    }
}
