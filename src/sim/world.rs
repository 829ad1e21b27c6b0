//! The alliance a simulation plays in: the demo's merchants, programmes, members,
//! rewards and operators, seeded once into a template database that every seed
//! clones, so each sequence starts from the same books.

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl, prelude::*, sql_query};

use crate::{
    bench::scratch::{self, ServerUrl},
    catalog::RewardStatus,
    clock::SimClock,
    crypto::Keys,
    db::{
        self,
        schema::{members, merchants, operators, programs, rewards},
    },
    demo,
    domain::{
        actor::{Actor, ActorKind},
        id::{MemberId, MerchantId, RewardId},
        points::ProgramCode,
    },
    merchant::standing,
};

/// A merchant and its programme.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub id: MerchantId,
    pub program: String,
}

/// What the operations pick from, by index.
#[derive(Debug, Clone)]
pub struct World {
    pub merchants: Vec<Merchant>,
    /// Every programme a member can hold: the merchants' and ALP.
    pub programs: Vec<ProgramCode>,
    pub members: Vec<MemberId>,
    pub rewards: Vec<RewardId>,
    /// Files requests that need approval (finance).
    pub maker: Actor,
    /// Approves them (an admin).
    pub checker: Actor,
    /// When the world was seeded; every sequence starts its clock here.
    pub start: DateTime<Utc>,
}

/// The seeded template on a server, named for this process so that parallel
/// simulations (one per test process) never share one.
#[derive(Debug)]
pub struct Template {
    pub server: ServerUrl,
    pub name: String,
    pub world: World,
}

impl Template {
    /// Creates, migrates and seeds the template on the server `any_database_url`
    /// points at (that database itself is only connected to). Takes about ten
    /// seconds.
    pub fn build(any_database_url: &str, keys: &Keys) -> anyhow::Result<Self> {
        let server = ServerUrl::parse(any_database_url)?;
        let name = format!("alliance_sim_{}", std::process::id());
        scratch::recreate(&mut admin(&server)?, &name)?;
        let mut conn = PgConnection::establish(&server.url(&name))
            .with_context(|| format!("connecting to {name}"))?;
        db::migrate(&mut conn).map_err(|e| anyhow::anyhow!("migrating {name}: {e}"))?;
        let start = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now is in range");
        let clock = SimClock::starting_at(start);
        let _installed = clock.install();
        demo::seed(&mut conn, keys).context("seeding the demo alliance")?;
        let world = World::load(&mut conn, start)?;
        drop(conn);
        Ok(Self {
            server,
            name,
            world,
        })
    }

    /// A fresh copy of the seeded books, named `suffix`.
    pub fn clone_as(&self, suffix: &str) -> anyhow::Result<String> {
        let name = format!("{}_{suffix}", self.name);
        let mut admin = admin(&self.server)?;
        scratch::drop_database(&mut admin, &name)?;
        sql_query(format!("CREATE DATABASE {name} TEMPLATE {}", self.name))
            .execute(&mut admin)
            .with_context(|| format!("cannot copy {} into {name}", self.name))?;
        Ok(self.server.url(&name))
    }

    pub fn drop_copy(&self, suffix: &str) -> anyhow::Result<()> {
        scratch::drop_database(
            &mut admin(&self.server)?,
            &format!("{}_{suffix}", self.name),
        )
    }
}

impl Drop for Template {
    fn drop(&mut self) {
        if let Ok(mut admin) = admin(&self.server) {
            let _ = scratch::drop_database(&mut admin, &self.name);
        }
    }
}

fn admin(server: &ServerUrl) -> anyhow::Result<PgConnection> {
    PgConnection::establish(&server.url("postgres")).context("connecting to database postgres")
}

impl World {
    /// The member an operation's index names (indices wrap around).
    pub fn member(&self, index: usize) -> MemberId {
        self.members[index % self.members.len()]
    }

    /// The merchant an operation's index names (indices wrap around).
    pub fn merchant(&self, index: usize) -> &Merchant {
        &self.merchants[index % self.merchants.len()]
    }

    fn load(conn: &mut PgConnection, start: DateTime<Utc>) -> anyhow::Result<Self> {
        let merchants: Vec<Merchant> = programs::table
            .inner_join(merchants::table)
            .filter(merchants::status.eq(standing::Status::Active))
            .order(programs::id)
            .select((programs::merchant_id, programs::code))
            .load::<(MerchantId, String)>(conn)?
            .into_iter()
            .map(|(id, program)| Merchant { id, program })
            .collect();
        let mut programs = merchants
            .iter()
            .map(|m| ProgramCode::parse(&m.program))
            .collect::<Result<Vec<_>, _>>()?;
        programs.push(ProgramCode::alp());
        let members = members::table
            .order(members::id)
            .select(members::id)
            .load(conn)?;
        let rewards = rewards::table
            .filter(rewards::status.eq(RewardStatus::Published))
            .order(rewards::id)
            .select(rewards::id)
            .load(conn)?;
        let operator = |conn: &mut PgConnection, role: &str| -> anyhow::Result<Actor> {
            let (id, email): (i64, String) = operators::table
                .filter(operators::role.eq(role))
                .order(operators::id)
                .select((operators::id, operators::email))
                .first(conn)
                .with_context(|| format!("the demo has no {role}"))?;
            Ok(Actor {
                kind: ActorKind::Operator,
                id: Some(id),
                label: email,
                role: role.to_owned(),
                merchant_id: None,
                ip: None,
            })
        };
        Ok(Self {
            maker: operator(conn, "finance")?,
            checker: operator(conn, "admin")?,
            merchants,
            programs,
            members,
            rewards,
            start,
        })
    }
}
