//! Shanghai's sixteen districts (区), for a member who picks where they are
//! instead of sharing their location. Each has a code for addresses and forms
//! and a centre point; names are translated (`district.<code>`).

use super::geo::GeoPoint;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct District {
    pub code: &'static str,
    latitude: f64,
    longitude: f64,
}

const fn district(code: &'static str, latitude: f64, longitude: f64) -> District {
    District {
        code,
        latitude,
        longitude,
    }
}

impl District {
    /// Central districts first, then the outer ones. The centre is the
    /// district seat (区政府), where its shops are: the geometric centroid of
    /// Pudong or Chongming lies among fields, far from any store.
    pub const ALL: [District; 16] = [
        district("huangpu", 31.2317, 121.4846),
        district("xuhui", 31.1885, 121.4365),
        district("changning", 31.2204, 121.4245),
        district("jingan", 31.2495, 121.4555),
        district("putuo", 31.2495, 121.3970),
        district("hongkou", 31.2646, 121.5055),
        district("yangpu", 31.2596, 121.5260),
        district("pudong", 31.2214, 121.5447),
        district("minhang", 31.1126, 121.3817),
        district("baoshan", 31.4055, 121.4891),
        district("jiading", 31.3752, 121.2655),
        district("jinshan", 30.7417, 121.3420),
        district("songjiang", 31.0324, 121.2277),
        district("qingpu", 31.1508, 121.1240),
        district("fengxian", 30.9180, 121.4740),
        district("chongming", 31.6229, 121.3975),
    ];

    pub fn find(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code == code)
    }

    pub fn centre(self) -> GeoPoint {
        GeoPoint::new(self.latitude, self.longitude).expect("the table's points are in range")
    }

    /// The key of the district's name in the locales.
    pub fn label_key(self) -> String {
        format!("district.{}", self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_districts_with_distinct_codes_all_in_shanghai() {
        let mut codes: Vec<_> = District::ALL.iter().map(|d| d.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 16);
        for d in District::ALL {
            let centre = d.centre();
            assert!((30.6..31.9).contains(&centre.latitude()), "{}", d.code);
            assert!((120.8..122.0).contains(&centre.longitude()), "{}", d.code);
        }
        assert_eq!(District::find("xuhui").map(|d| d.code), Some("xuhui"));
        assert_eq!(District::find("nowhere"), None);
    }
}
