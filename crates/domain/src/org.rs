//! The organisation (DOMAIN.md §1): the unit tree, people and their roles.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Level of a unit in the tree. Departments hang under the district.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 区 / 县
    District,
    /// 乡镇 / 街道
    Street,
    /// 村 / 社区
    Community,
    /// 网格
    Grid,
    /// 屋场 / 村民小组
    Hamlet,
    /// 职能部门 (district level)
    Department,
    /// 纪检监察机关 outside the district's tree (a higher organ: 市纪委监委 or
    /// its office for the district). A root of its own, so an accusation
    /// against the whole district (检举控告) still reaches someone who can act.
    Oversight,
}

impl Level {
    pub const ALL: [Level; 7] = [
        Level::District,
        Level::Street,
        Level::Community,
        Level::Grid,
        Level::Hamlet,
        Level::Department,
        Level::Oversight,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Grid => "grid",
            Level::Hamlet => "hamlet",
            Level::Department => "department",
            Level::Oversight => "oversight",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Level::District => "区县",
            Level::Street => "乡镇街道",
            Level::Community => "村社区",
            Level::Grid => "网格",
            Level::Hamlet => "屋场",
            Level::Department => "职能部门",
            Level::Oversight => "纪检监察机关",
        }
    }

    /// The level a child of this level must have (departments are children of the district).
    fn allows_child(self, child: Level) -> bool {
        matches!(
            (self, child),
            (Level::District, Level::Street)
                | (Level::District, Level::Department)
                | (Level::Street, Level::Community)
                | (Level::Community, Level::Grid)
                | (Level::Grid, Level::Hamlet)
        )
    }

    /// Residents' matters are filed at a place: a community, grid or hamlet.
    pub fn is_place(self) -> bool {
        matches!(self, Level::Community | Level::Grid | Level::Hamlet)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent: Option<String>,
}

/// Roles of DOMAIN.md §1 and issue 5; permissions will be data keyed by these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    GridWorker,
    CommunityStaff,
    StreetStaff,
    DepartmentHandler,
    Leader,
    PetitionBureau,
    Admin,
    /// 纪检监察: staff of an oversight unit; handle the accusations forwarded
    /// to it (those against the whole district or its petition bureau).
    Inspector,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::GridWorker,
        Role::CommunityStaff,
        Role::StreetStaff,
        Role::DepartmentHandler,
        Role::Leader,
        Role::PetitionBureau,
        Role::Admin,
        Role::Inspector,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::GridWorker => "grid_worker",
            Role::CommunityStaff => "community_staff",
            Role::StreetStaff => "street_staff",
            Role::DepartmentHandler => "department_handler",
            Role::Leader => "leader",
            Role::PetitionBureau => "petition_bureau",
            Role::Admin => "admin",
            Role::Inspector => "discipline_inspector",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::GridWorker => "网格员",
            Role::CommunityStaff => "村（社区）工作人员",
            Role::StreetStaff => "乡镇（街道）工作人员",
            Role::DepartmentHandler => "职能部门经办人",
            Role::Leader => "挂点领导",
            Role::PetitionBureau => "信访局",
            Role::Admin => "系统管理员",
            Role::Inspector => "纪检监察",
        }
    }

    /// Which unit levels a person of this role may belong to.
    pub fn allowed_levels(self) -> &'static [Level] {
        match self {
            Role::GridWorker => &[Level::Grid],
            Role::CommunityStaff => &[Level::Community],
            Role::StreetStaff => &[Level::Street],
            Role::DepartmentHandler => &[Level::Department],
            Role::Leader | Role::PetitionBureau | Role::Admin => &[Level::District],
            Role::Inspector => &[Level::Oversight],
        }
    }
}

/// A person who uses the system as staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub login: String,
    pub name: String,
    pub role: Role,
    /// The unit the person works in.
    pub unit: String,
    /// Units a leader is linked to (挂点); empty for other roles.
    pub linked_units: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrgError {
    #[error("duplicate unit code {0}")]
    DuplicateUnit(String),
    #[error("unit {child} names unknown parent {parent}")]
    UnknownParent { child: String, parent: String },
    #[error("unit {0} has no parent but is not the district")]
    MissingParent(String),
    #[error("there must be exactly one district, found {0}")]
    DistrictCount(usize),
    #[error("unit {child} ({child_level}) cannot sit under {parent} ({parent_level})")]
    BadNesting {
        child: String,
        child_level: &'static str,
        parent: String,
        parent_level: &'static str,
    },
    #[error("unit code {0:?} must be 1-32 characters of A-Z, a-z, 0-9, '-' or '_'")]
    BadCode(String),
    #[error("duplicate login {0}")]
    DuplicateLogin(String),
    #[error("person {login} belongs to unknown unit {unit}")]
    UnknownPersonUnit { login: String, unit: String },
    #[error("person {login} with role {role} cannot belong to a unit of level {level}")]
    RoleLevel {
        login: String,
        role: &'static str,
        level: &'static str,
    },
}

/// A validated organisation: every parent exists, nesting follows the levels,
/// every person belongs to a known unit. Paths are materialised for subtree queries.
#[derive(Debug, Clone)]
pub struct OrgTree {
    units: BTreeMap<String, (Unit, String)>,
    people: Vec<Person>,
    /// Code of the one district.
    district: String,
}

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl OrgTree {
    pub fn new(units: Vec<Unit>, people: Vec<Person>) -> Result<OrgTree, OrgError> {
        let mut by_code: BTreeMap<String, Unit> = BTreeMap::new();
        for u in units {
            if !valid_code(&u.code) {
                return Err(OrgError::BadCode(u.code));
            }
            if by_code.contains_key(&u.code) {
                return Err(OrgError::DuplicateUnit(u.code));
            }
            by_code.insert(u.code.clone(), u);
        }
        let districts = by_code
            .values()
            .filter(|u| u.level == Level::District)
            .count();
        if districts != 1 {
            return Err(OrgError::DistrictCount(districts));
        }
        for u in by_code.values() {
            match &u.parent {
                None if !matches!(u.level, Level::District | Level::Oversight) => {
                    return Err(OrgError::MissingParent(u.code.clone()))
                }
                None => {}
                Some(p) => {
                    let parent = by_code.get(p).ok_or_else(|| OrgError::UnknownParent {
                        child: u.code.clone(),
                        parent: p.clone(),
                    })?;
                    if !parent.level.allows_child(u.level) {
                        return Err(OrgError::BadNesting {
                            child: u.code.clone(),
                            child_level: u.level.as_str(),
                            parent: parent.code.clone(),
                            parent_level: parent.level.as_str(),
                        });
                    }
                }
            }
        }
        // Levels strictly descend, so following parents terminates within 5 steps.
        let mut units = BTreeMap::new();
        for (code, u) in &by_code {
            let mut chain = vec![code.as_str()];
            let mut cur = u;
            while let Some(p) = &cur.parent {
                chain.push(p.as_str());
                match by_code.get(p) {
                    Some(next) => cur = next,
                    None => break,
                }
            }
            chain.reverse();
            let path = format!("/{}/", chain.join("/"));
            units.insert(code.clone(), (u.clone(), path));
        }
        let mut logins = std::collections::BTreeSet::new();
        for p in &people {
            if !logins.insert(p.login.clone()) {
                return Err(OrgError::DuplicateLogin(p.login.clone()));
            }
            for code in std::iter::once(&p.unit).chain(p.linked_units.iter()) {
                if !units.contains_key(code) {
                    return Err(OrgError::UnknownPersonUnit {
                        login: p.login.clone(),
                        unit: code.clone(),
                    });
                }
            }
            let level = units
                .get(&p.unit)
                .map(|(u, _)| u.level)
                .unwrap_or(Level::District);
            if !p.role.allowed_levels().contains(&level) {
                return Err(OrgError::RoleLevel {
                    login: p.login.clone(),
                    role: p.role.as_str(),
                    level: level.as_str(),
                });
            }
        }
        let district = units
            .values()
            .find(|(u, _)| u.level == Level::District)
            .map(|(u, _)| u.code.clone())
            .unwrap_or_default();
        Ok(OrgTree {
            units,
            people,
            district,
        })
    }

    /// The district's code (the root of the tree).
    pub fn district(&self) -> &str {
        &self.district
    }

    /// The oversight unit (纪检监察机关, outside the district's tree) that
    /// takes accusations no one in the district may handle, if configured.
    pub fn oversight(&self) -> Option<&str> {
        self.units
            .values()
            .find(|(u, _)| u.level == Level::Oversight)
            .map(|(u, _)| u.code.as_str())
    }

    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.get(code).map(|(u, _)| u)
    }

    /// Materialised path `/district/street/community/`, used for subtree filters.
    pub fn path(&self, code: &str) -> Option<&str> {
        self.units.get(code).map(|(_, p)| p.as_str())
    }

    pub fn units(&self) -> impl Iterator<Item = (&Unit, &str)> {
        self.units.values().map(|(u, p)| (u, p.as_str()))
    }

    /// A person as staff pages show them: "杨建国（区领导）"; a login the
    /// organisation does not know is shown as it is.
    pub fn display_person(&self, login: &str) -> String {
        match self.people.iter().find(|p| p.login == login) {
            Some(p) => format!("{}（{}）", p.name, p.role.zh()),
            None => login.to_string(),
        }
    }

    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// The village/community that triages a matter filed at `place`
    /// (the place itself, or the community above a grid or hamlet).
    pub fn triage_unit(&self, place: &str) -> Option<&Unit> {
        let mut cur = self.unit(place)?;
        loop {
            match cur.level {
                Level::Community => return Some(cur),
                Level::Grid | Level::Hamlet => cur = self.unit(cur.parent.as_deref()?)?,
                _ => return None,
            }
        }
    }

    /// Counts per level, for reports and tests.
    pub fn count(&self, level: Level) -> usize {
        self.units
            .values()
            .filter(|(u, _)| u.level == level)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(code: &str, level: Level, parent: Option<&str>) -> Unit {
        Unit {
            code: code.into(),
            name: code.into(),
            level,
            parent: parent.map(Into::into),
        }
    }

    fn small() -> Vec<Unit> {
        vec![
            u("D", Level::District, None),
            u("S1", Level::Street, Some("D")),
            u("C1", Level::Community, Some("S1")),
            u("G1", Level::Grid, Some("C1")),
            u("H1", Level::Hamlet, Some("G1")),
            u("DEP", Level::Department, Some("D")),
        ]
    }

    #[test]
    fn an_oversight_unit_is_a_root_outside_the_district() {
        let mut units = small();
        units.push(u("JW", Level::Oversight, None));
        let t = OrgTree::new(units, vec![]).unwrap();
        assert_eq!(t.path("JW"), Some("/JW/"));
        assert!(!t.path("JW").unwrap().starts_with(t.path("D").unwrap()));
        assert_eq!(t.oversight(), Some("JW"));
        // nothing nests under it, and it nests under nothing
        let mut bad = small();
        bad.push(u("JW", Level::Oversight, None));
        bad.push(u("X", Level::Street, Some("JW")));
        assert!(matches!(
            OrgTree::new(bad, vec![]),
            Err(OrgError::BadNesting { .. })
        ));
        let mut bad = small();
        bad.push(u("JW", Level::Oversight, Some("D")));
        assert!(matches!(
            OrgTree::new(bad, vec![]),
            Err(OrgError::BadNesting { .. })
        ));
        assert_eq!(OrgTree::new(small(), vec![]).unwrap().oversight(), None);
    }

    #[test]
    fn paths_and_triage_unit() {
        let t = OrgTree::new(small(), vec![]).unwrap();
        assert_eq!(t.path("H1"), Some("/D/S1/C1/G1/H1/"));
        assert_eq!(t.path("DEP"), Some("/D/DEP/"));
        assert_eq!(t.triage_unit("H1").unwrap().code, "C1");
        assert_eq!(t.triage_unit("C1").unwrap().code, "C1");
        assert!(t.triage_unit("S1").is_none());
        assert!(t.triage_unit("DEP").is_none());
    }

    #[test]
    fn rejects_bad_trees() {
        let mut units = small();
        units.push(u("C2", Level::Community, Some("D")));
        assert!(matches!(
            OrgTree::new(units, vec![]),
            Err(OrgError::BadNesting { .. })
        ));
        let mut units = small();
        units.push(u("C1", Level::Community, Some("S1")));
        assert_eq!(
            OrgTree::new(units, vec![]).unwrap_err(),
            OrgError::DuplicateUnit("C1".into())
        );
        let mut units = small();
        units.push(u("X", Level::Grid, Some("NOPE")));
        assert!(matches!(
            OrgTree::new(units, vec![]),
            Err(OrgError::UnknownParent { .. })
        ));
        let mut units = small();
        units.push(u("D2", Level::District, None));
        assert_eq!(
            OrgTree::new(units, vec![]).unwrap_err(),
            OrgError::DistrictCount(2)
        );
    }

    #[test]
    fn rejects_people_in_wrong_units() {
        let p = Person {
            login: "g".into(),
            name: "网格员".into(),
            role: Role::GridWorker,
            unit: "C1".into(),
            linked_units: vec![],
        };
        assert!(matches!(
            OrgTree::new(small(), vec![p]),
            Err(OrgError::RoleLevel { .. })
        ));
    }
}
