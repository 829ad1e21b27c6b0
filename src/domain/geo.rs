//! A place on the earth as a member gives it: latitude and longitude in
//! degrees, parsed from text (a browser's geolocation or a form) before
//! anything measures from it.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    latitude: f64,
    longitude: f64,
}

/// Coordinates that are not a place: not numbers, or out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a latitude and longitude")]
pub struct InvalidPoint;

impl GeoPoint {
    /// Latitude −90…90 and longitude −180…180 degrees, finite.
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, InvalidPoint> {
        let valid = latitude.is_finite()
            && longitude.is_finite()
            && (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude);
        if valid {
            Ok(Self {
                latitude,
                longitude,
            })
        } else {
            Err(InvalidPoint)
        }
    }

    /// Decimal degrees as typed or sent by a browser, e.g. `31.2304`.
    pub fn parse(latitude: &str, longitude: &str) -> Result<Self, InvalidPoint> {
        let number = |text: &str| text.trim().parse::<f64>().map_err(|_| InvalidPoint);
        Self::new(number(latitude)?, number(longitude)?)
    }

    pub fn latitude(self) -> f64 {
        self.latitude
    }

    pub fn longitude(self) -> f64 {
        self.longitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_parse_within_range_only() {
        let point = GeoPoint::parse(" 31.2304", "121.4737 ").unwrap();
        assert_eq!((point.latitude(), point.longitude()), (31.2304, 121.4737));
        assert_eq!(GeoPoint::parse("90", "-180").map(|_| ()), Ok(()));
        for (lat, lng) in [
            ("91", "121"),
            ("31", "180.5"),
            ("abc", "121"),
            ("31", ""),
            ("NaN", "121"),
            ("inf", "121"),
        ] {
            assert_eq!(GeoPoint::parse(lat, lng), Err(InvalidPoint), "{lat},{lng}");
        }
    }
}
