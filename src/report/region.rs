//! Which district (区) a store is in. Stores keep an address and coordinates
//! but no district, so reports derive it: the district an address names
//! ("上海市徐汇区…"), else the district whose seat is nearest the store.

use diesel::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use crate::{
    db::schema::stores,
    domain::{district::District, geo::GeoPoint},
    i18n::Locale,
    merchant::store::Store,
};

/// A store with the district it is in.
#[derive(Debug, Clone)]
pub struct LocatedStore {
    pub store: Store,
    pub district: District,
}

/// The district a store is in: the one its address names (by its Chinese name,
/// as Shanghai addresses spell it), else the one whose seat is nearest.
pub fn district_of(address: &str, at: GeoPoint) -> District {
    District::ALL
        .into_iter()
        .find(|d| address.contains(Locale::ZhCn.t(&d.label_key()).as_ref()))
        .unwrap_or_else(|| nearest(at))
}

/// The district whose seat is nearest `at`. Within one city an equirectangular
/// distance (longitude shrunk by the cosine of the latitude) orders seats
/// exactly enough.
fn nearest(at: GeoPoint) -> District {
    let squared = |d: &District| {
        let seat = d.centre();
        let dx = (seat.longitude() - at.longitude()) * at.latitude().to_radians().cos();
        let dy = seat.latitude() - at.latitude();
        dx * dx + dy * dy
    };
    District::ALL
        .into_iter()
        .min_by(|a, b| squared(a).total_cmp(&squared(b)))
        .expect("there are sixteen districts")
}

/// Every store of every merchant with its district, by merchant then store.
pub fn located_stores(conn: &mut PgConnection) -> QueryResult<Vec<LocatedStore>> {
    Ok(stores::table
        .order((stores::merchant_id, stores::id))
        .select(Store::as_select())
        .load(conn)?
        .into_iter()
        .map(|store| {
            // The column's CHECKs keep coordinates in range; a point that still
            // fails falls back to the city centre (Huangpu's seat).
            let at = GeoPoint::new(
                store.latitude.to_f64().unwrap_or(f64::NAN),
                store.longitude.to_f64().unwrap_or(f64::NAN),
            )
            .unwrap_or_else(|_| District::ALL[0].centre());
            LocatedStore {
                district: district_of(&store.address, at),
                store,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(latitude: f64, longitude: f64) -> GeoPoint {
        GeoPoint::new(latitude, longitude).unwrap()
    }

    #[test]
    fn the_district_an_address_names_wins() {
        // Coordinates in Pudong, but the address says Xuhui: the address is
        // what the merchant registered.
        let xuhui = district_of("上海市徐汇区漕溪北路88号", at(31.2214, 121.5447));
        assert_eq!(xuhui.code, "xuhui");
        assert_eq!(
            district_of("上海市浦东新区世纪大道100号", at(31.0, 121.0)).code,
            "pudong"
        );
    }

    #[test]
    fn without_a_named_district_the_nearest_seat_is_taken() {
        assert_eq!(
            district_of("南京东路 1 号", at(31.2350, 121.4800)).code,
            "huangpu"
        );
        assert_eq!(district_of("", at(31.6300, 121.4000)).code, "chongming");
        assert_eq!(
            district_of("Century Ave", at(31.2250, 121.5500)).code,
            "pudong"
        );
    }
}
