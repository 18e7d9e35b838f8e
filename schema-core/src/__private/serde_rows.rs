//! The generic half of the serde impls that `#[derive(PgTable)]` writes for `InsertX`,
//! `SelectX` and `UpdateX`, and `#[derive(PgEnum)]` for text enums (feature `serde`).
//!
//! A row type's impls hand its fields to [`serialize`] and take them from [`deserialize`] as
//! one value: a balanced tree of pairs, with a marker per field ([`Plain`], [`Patch`],
//! [`Nullable`]) saying how it travels. Everything per field (the slot it is read into, the
//! duplicate and missing checks, what absent means, whether it is written) is generic code
//! here, which the crate declaring the tables does not type-check again; that crate checks a
//! call per direction and a destructuring, where serde's derive would give it a visitor, a
//! field enum and code per field for each row type.
//!
//! The behaviour is serde's derive's, to the error message: keys not among the fields are
//! ignored, a repeated key is `duplicate_field`, an absent field is `missing_field` unless its
//! type reads an absent value as `None` (an `Option`), and a sequence is read in declaration
//! order, for formats that write structs without their keys.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Expected, IgnoredAny, Visitor};
pub use serde::de::{Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess};
use serde::ser::SerializeStruct;
pub use serde::ser::{Serialize, Serializer};

/// A field read and written as serde's derive does a field without attributes: always
/// written; when absent, `missing_field` unless its type reads an absent value as `None`.
pub struct Plain<T>(pub T);

/// A patch field of a NOT NULL column, `Option<T>`: `None` is not written; absent reads as
/// `None`, and so does `null`.
pub struct Patch<T>(pub T);

/// A patch field of a nullable column, `Option<Option<T>>`: `None` is not written and
/// `Some(None)` is written as `null`; absent reads as `None`, `null` as `Some(None)`.
pub struct Nullable<T>(pub T);

/// The fields of a row type as `deserialize` reads them: a marker holding each field
/// (`Plain`, `Patch` or `Nullable` of the field's type), in pairs nested as a balanced tree in
/// declaration order, or `()`. The derive names the tree's type and destructures the value;
/// the work per field is done here.
pub trait ReadFields<'de>: Sized {
    /// How many fields.
    const LEN: usize;
    /// What has been read so far, a slot per field.
    type Slots: Default;

    /// Reads the value of key number `index` (of `fields`) into its slot; the tree's first
    /// field is number `offset`.
    fn read<A: MapAccess<'de>>(
        slots: &mut Self::Slots,
        map: &mut A,
        index: usize,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), A::Error>;

    /// The fields once the map has been read, with what an absent field reads as.
    fn finish<E: de::Error>(
        slots: Self::Slots,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<Self, E>;

    /// Reads the fields from a sequence, in order.
    fn read_seq<A: SeqAccess<'de>>(
        seq: &mut A,
        offset: usize,
        expected: &dyn Expected,
    ) -> Result<Self, A::Error>;
}

/// Reads a key's value into an empty slot; a filled one means the key was repeated.
fn read_slot<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
    key: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(key));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de, T: Deserialize<'de>> ReadFields<'de> for Plain<T> {
    const LEN: usize = 1;
    type Slots = Option<T>;

    fn read<A: MapAccess<'de>>(
        slot: &mut Option<T>,
        map: &mut A,
        _index: usize,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), A::Error> {
        read_slot(slot, map, fields[offset])
    }

    fn finish<E: de::Error>(
        slot: Option<T>,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<Self, E> {
        match slot {
            Some(value) => Ok(Plain(value)),
            None => T::deserialize(Missing(fields[offset], PhantomData)).map(Plain),
        }
    }

    fn read_seq<A: SeqAccess<'de>>(
        seq: &mut A,
        offset: usize,
        expected: &dyn Expected,
    ) -> Result<Self, A::Error> {
        match seq.next_element()? {
            Some(value) => Ok(Plain(value)),
            None => Err(de::Error::invalid_length(offset, expected)),
        }
    }
}

impl<'de, T: Deserialize<'de>> ReadFields<'de> for Patch<Option<T>> {
    const LEN: usize = 1;
    type Slots = Option<Option<T>>;

    fn read<A: MapAccess<'de>>(
        slot: &mut Option<Option<T>>,
        map: &mut A,
        _index: usize,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), A::Error> {
        read_slot(slot, map, fields[offset])
    }

    fn finish<E: de::Error>(
        slot: Option<Option<T>>,
        _fields: &'static [&'static str],
        _offset: usize,
    ) -> Result<Self, E> {
        Ok(Patch(slot.unwrap_or_default()))
    }

    fn read_seq<A: SeqAccess<'de>>(
        seq: &mut A,
        _offset: usize,
        _expected: &dyn Expected,
    ) -> Result<Self, A::Error> {
        Ok(Patch(seq.next_element()?.unwrap_or_default()))
    }
}

impl<'de, T: Deserialize<'de>> ReadFields<'de> for Nullable<Option<T>> {
    const LEN: usize = 1;
    type Slots = Option<T>;

    fn read<A: MapAccess<'de>>(
        slot: &mut Option<T>,
        map: &mut A,
        _index: usize,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), A::Error> {
        read_slot(slot, map, fields[offset])
    }

    fn finish<E: de::Error>(
        slot: Option<T>,
        _fields: &'static [&'static str],
        _offset: usize,
    ) -> Result<Self, E> {
        Ok(Nullable(slot))
    }

    fn read_seq<A: SeqAccess<'de>>(
        seq: &mut A,
        _offset: usize,
        _expected: &dyn Expected,
    ) -> Result<Self, A::Error> {
        seq.next_element().map(Nullable)
    }
}

impl<'de, L: ReadFields<'de>, R: ReadFields<'de>> ReadFields<'de> for (L, R) {
    const LEN: usize = L::LEN + R::LEN;
    type Slots = (L::Slots, R::Slots);

    fn read<A: MapAccess<'de>>(
        slots: &mut Self::Slots,
        map: &mut A,
        index: usize,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), A::Error> {
        if index < offset + L::LEN {
            L::read(&mut slots.0, map, index, fields, offset)
        } else {
            R::read(&mut slots.1, map, index, fields, offset + L::LEN)
        }
    }

    fn finish<E: de::Error>(
        slots: Self::Slots,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<Self, E> {
        // In declaration order, so that the first absent field is the one reported.
        let left = L::finish(slots.0, fields, offset)?;
        Ok((left, R::finish(slots.1, fields, offset + L::LEN)?))
    }

    fn read_seq<A: SeqAccess<'de>>(
        seq: &mut A,
        offset: usize,
        expected: &dyn Expected,
    ) -> Result<Self, A::Error> {
        let left = L::read_seq(seq, offset, expected)?;
        Ok((left, R::read_seq(seq, offset + L::LEN, expected)?))
    }
}

impl<'de> ReadFields<'de> for () {
    const LEN: usize = 0;
    type Slots = ();

    fn read<A: MapAccess<'de>>(
        _slots: &mut (),
        _map: &mut A,
        _index: usize,
        _fields: &'static [&'static str],
        _offset: usize,
    ) -> Result<(), A::Error> {
        Ok(())
    }

    fn finish<E: de::Error>(
        _slots: (),
        _fields: &'static [&'static str],
        _offset: usize,
    ) -> Result<(), E> {
        Ok(())
    }

    fn read_seq<A: SeqAccess<'de>>(
        _seq: &mut A,
        _offset: usize,
        _expected: &dyn Expected,
    ) -> Result<(), A::Error> {
        Ok(())
    }
}

/// `Deserialize::deserialize` of a row type: a struct named `name` whose keys are `fields`,
/// read into the tree `F` (see [`ReadFields`]).
pub fn deserialize<'de, F: ReadFields<'de>, D: Deserializer<'de>>(
    deserializer: D,
    name: &'static str,
    fields: &'static [&'static str],
) -> Result<F, D::Error> {
    let visitor = RowVisitor::<F> {
        name,
        fields,
        tree: PhantomData,
    };
    deserializer.deserialize_struct(name, fields, visitor)
}

/// The one visitor of every row type.
struct RowVisitor<F> {
    name: &'static str,
    fields: &'static [&'static str],
    tree: PhantomData<F>,
}

impl<'de, F: ReadFields<'de>> Visitor<'de> for RowVisitor<F> {
    type Value = F;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(formatter, "struct {}", self.name)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<F, A::Error> {
        let expected = SeqLength(self.name, self.fields.len());
        F::read_seq(&mut seq, 0, &expected)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<F, A::Error> {
        let mut slots = F::Slots::default();
        while let Some(key) = map.next_key_seed(Key(self.fields))? {
            match key {
                Some(index) => F::read(&mut slots, &mut map, index, self.fields, 0)?,
                // Keys that are not fields are ignored, whatever their value.
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        F::finish(slots, self.fields, 0)
    }
}

/// Decodes a key, given as its name or as its index, into its index in the field list; `None`
/// for a key not in it.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("field identifier")
    }

    fn visit_u64<E: de::Error>(self, index: u64) -> Result<Self::Value, E> {
        Ok(usize::try_from(index).ok().filter(|&i| i < self.0.len()))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|field| *field == key))
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|field| field.as_bytes() == key))
    }
}

/// What an absent field is read from: `None` for an `Option`, `missing_field` for the rest.
struct Missing<E>(&'static str, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for Missing<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, E> {
        Err(de::Error::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// "struct X with N elements", what a short sequence is measured against.
struct SeqLength(&'static str, usize);

impl Expected for SeqLength {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        match self.1 {
            1 => write!(formatter, "struct {} with 1 element", self.0),
            n => write!(formatter, "struct {} with {n} elements", self.0),
        }
    }
}

/// The fields of a row type as `serialize` writes them: `Plain(&field)`, `Patch(&field)` or
/// `Nullable(&field)` per field, in the tree [`ReadFields`] reads.
pub trait WriteFields {
    /// How many fields.
    const LEN: usize;

    /// How many fields are written.
    fn written(&self) -> usize;

    /// Writes the fields; the tree's first is number `offset` of `fields`.
    fn write<S: SerializeStruct>(
        &self,
        row: &mut S,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), S::Error>;
}

impl<T: Serialize + ?Sized> WriteFields for Plain<&T> {
    const LEN: usize = 1;

    fn written(&self) -> usize {
        1
    }

    fn write<S: SerializeStruct>(
        &self,
        row: &mut S,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), S::Error> {
        row.serialize_field(fields[offset], self.0)
    }
}

impl<T: Serialize> WriteFields for Patch<&Option<T>> {
    const LEN: usize = 1;

    fn written(&self) -> usize {
        usize::from(self.0.is_some())
    }

    fn write<S: SerializeStruct>(
        &self,
        row: &mut S,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), S::Error> {
        match self.0 {
            Some(_) => row.serialize_field(fields[offset], self.0),
            None => row.skip_field(fields[offset]),
        }
    }
}

impl<T: Serialize> WriteFields for Nullable<&Option<T>> {
    const LEN: usize = 1;

    fn written(&self) -> usize {
        usize::from(self.0.is_some())
    }

    fn write<S: SerializeStruct>(
        &self,
        row: &mut S,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), S::Error> {
        match self.0 {
            Some(inner) => row.serialize_field(fields[offset], inner),
            None => row.skip_field(fields[offset]),
        }
    }
}

impl<L: WriteFields, R: WriteFields> WriteFields for (L, R) {
    const LEN: usize = L::LEN + R::LEN;

    fn written(&self) -> usize {
        self.0.written() + self.1.written()
    }

    fn write<S: SerializeStruct>(
        &self,
        row: &mut S,
        fields: &'static [&'static str],
        offset: usize,
    ) -> Result<(), S::Error> {
        self.0.write(row, fields, offset)?;
        self.1.write(row, fields, offset + L::LEN)
    }
}

impl WriteFields for () {
    const LEN: usize = 0;

    fn written(&self) -> usize {
        0
    }

    fn write<S: SerializeStruct>(
        &self,
        _row: &mut S,
        _fields: &'static [&'static str],
        _offset: usize,
    ) -> Result<(), S::Error> {
        Ok(())
    }
}

/// `Serialize::serialize` of a row type: a struct named `name` with the fields of `tree`
/// (see [`WriteFields`]) under the keys `fields`.
pub fn serialize<S: Serializer, F: WriteFields>(
    serializer: S,
    name: &'static str,
    fields: &'static [&'static str],
    tree: F,
) -> Result<S::Ok, S::Error> {
    let mut row = serializer.serialize_struct(name, tree.written())?;
    tree.write(&mut row, fields, 0)?;
    row.end()
}

/// `Serialize` of a text enum: its stored text.
pub fn serialize_text<E: crate::PgEnum, S: Serializer>(
    value: &E,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_str())
}

/// `Deserialize` of a text enum: one of its stored texts; any other text is `unknown_variant`
/// with the list of expected ones.
pub fn deserialize_text<'de, E: crate::PgEnum, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<E, D::Error> {
    let text = String::deserialize(deserializer)?;
    E::from_text(&text).ok_or_else(|| de::Error::unknown_variant(&text, E::VALUES))
}
