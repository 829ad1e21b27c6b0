//! Where the member says they are, for the nearby and "for you" pages: a
//! position shared by the browser (`lat`, `lng`, decimal degrees) or a
//! Shanghai district picked by hand, in the page's query string; the picker
//! both pages show; and distances as the member reads them.

use serde::Deserialize;

use crate::{
    domain::{
        district::District,
        geo::{GeoPoint, InvalidPoint},
    },
    i18n::Locale,
};

/// The location part of a page's address. A shared position wins over a
/// district; neither is no location.
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct LocationQuery {
    #[serde(default)]
    district: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lng: String,
}

/// A place to measure from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Location {
    pub point: GeoPoint,
    /// The district picked, None for a shared position.
    pub district: Option<District>,
}

/// A location the query names but that is no place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LocationError {
    Coordinates,
    District,
}

impl From<InvalidPoint> for LocationError {
    fn from(_: InvalidPoint) -> Self {
        Self::Coordinates
    }
}

impl LocationError {
    fn message_key(self) -> &'static str {
        match self {
            Self::Coordinates => "consumer_nearby.error.coordinates",
            Self::District => "consumer_nearby.error.district",
        }
    }
}

impl LocationQuery {
    pub fn locate(&self) -> Result<Option<Location>, LocationError> {
        if !self.lat.trim().is_empty() || !self.lng.trim().is_empty() {
            return Ok(Some(Location {
                point: GeoPoint::parse(&self.lat, &self.lng)?,
                district: None,
            }));
        }
        match self.district.trim() {
            "" => Ok(None),
            code => {
                let district = District::find(code).ok_or(LocationError::District)?;
                Ok(Some(Location {
                    point: district.centre(),
                    district: Some(district),
                }))
            }
        }
    }
}

impl Location {
    /// This location as a query string, to carry it to another page.
    pub fn query(&self) -> String {
        let pairs = match self.district {
            Some(district) => vec![("district", district.code.to_owned())],
            None => vec![
                ("lat", format!("{:.6}", self.point.latitude())),
                ("lng", format!("{:.6}", self.point.longitude())),
            ],
        };
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// What the page says the distances are measured from.
    fn label(&self, locale: Locale) -> String {
        match self.district {
            Some(district) => locale.t_with(
                "consumer_nearby.from_district",
                &[("district", &locale.t(&district.label_key()))],
            ),
            None => locale.t_with(
                "consumer_nearby.from_position",
                &[
                    ("lat", &format!("{:.4}", self.point.latitude())),
                    ("lng", &format!("{:.4}", self.point.longitude())),
                ],
            ),
        }
    }
}

pub(super) struct DistrictOption {
    pub code: &'static str,
    pub label: String,
    pub selected: bool,
}

/// The location form (`consumer/location_picker.html`): a district list and,
/// with JavaScript, "use my location"; it submits to `action` by GET.
pub(super) struct Picker {
    pub action: &'static str,
    pub districts: Vec<DistrictOption>,
    /// Where the page measures from, when it knows.
    pub from: Option<String>,
    pub error: Option<String>,
}

/// The picker for a page at `action`, showing what `located` came to.
pub(super) fn picker(
    action: &'static str,
    located: &Result<Option<Location>, LocationError>,
    locale: Locale,
) -> Picker {
    let picked = located
        .as_ref()
        .ok()
        .copied()
        .flatten()
        .and_then(|l| l.district);
    Picker {
        action,
        districts: District::ALL
            .into_iter()
            .map(|d| DistrictOption {
                code: d.code,
                label: locale.t(&d.label_key()).into_owned(),
                selected: picked == Some(d),
            })
            .collect(),
        from: located
            .as_ref()
            .ok()
            .copied()
            .flatten()
            .map(|l| l.label(locale)),
        error: located
            .as_ref()
            .err()
            .map(|e| locale.t(e.message_key()).into_owned()),
    }
}

/// Metres as the member reads them: whole metres under a kilometre, else
/// kilometres to one decimal.
pub(super) fn distance(metres: f64, locale: Locale) -> String {
    let metres = metres.max(0.0).round();
    if metres < 1_000.0 {
        locale.t_with("consumer_nearby.metres", &[("m", &format!("{metres:.0}"))])
    } else {
        locale.t_with(
            "consumer_nearby.kilometres",
            &[("km", &format!("{:.1}", metres / 1_000.0))],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(district: &str, lat: &str, lng: &str) -> LocationQuery {
        LocationQuery {
            district: district.into(),
            lat: lat.into(),
            lng: lng.into(),
        }
    }

    #[test]
    fn a_shared_position_wins_over_a_district_and_bad_input_is_an_error() {
        let at = query("xuhui", "31.2304", "121.4737")
            .locate()
            .unwrap()
            .unwrap();
        assert_eq!(at.district, None);
        assert_eq!(at.query(), "lat=31.230400&lng=121.473700");
        let picked = query("xuhui", "", "").locate().unwrap().unwrap();
        assert_eq!(picked.district.map(|d| d.code), Some("xuhui"));
        assert_eq!(picked.query(), "district=xuhui");
        assert!(query("", "", "").locate().unwrap().is_none());
        assert_eq!(
            query("", "95", "121").locate().unwrap_err(),
            LocationError::Coordinates
        );
        assert_eq!(
            query("", "31.2", "").locate().unwrap_err(),
            LocationError::Coordinates
        );
        assert_eq!(
            query("atlantis", "", "").locate().unwrap_err(),
            LocationError::District
        );
    }

    #[test]
    fn distances_read_in_metres_then_kilometres() {
        assert_eq!(distance(849.6, Locale::En), "850 m");
        assert_eq!(distance(1_881.8, Locale::En), "1.9 km");
        assert_eq!(distance(1_881.8, Locale::ZhCn), "1.9 公里");
    }
}
