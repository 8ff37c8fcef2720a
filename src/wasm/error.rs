//! Errors cross into JavaScript as instances of the `PhisealError` class
//! that `js/` registers at start-up, with a stable `code`.

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::Error;

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the JavaScript error class: `new cls(message, code)`.
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(cls: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(cls));
}

/// Converts a crate error into a thrown JavaScript value.
pub fn to_js(e: Error) -> JsValue {
    let message = JsValue::from_str(e.message());
    let code = JsValue::from_str(e.code().as_str());
    let registered = ERROR_CLASS.with(|c| c.borrow().clone());
    if let Some(cls) = registered
        && let Ok(err) = Reflect::construct(&cls, &Array::of2(&message, &code))
    {
        return err;
    }
    let err = js_sys::Error::new(e.message());
    err.set_name("PhisealError");
    let _ = Reflect::set(&err, &"code".into(), &code);
    err.into()
}

/// Result type of every fallible export.
pub type JsResult<T> = Result<T, JsValue>;

/// `?`-friendly conversion.
pub trait IntoJs<T> {
    /// Maps the error into a `PhisealError`.
    fn js(self) -> JsResult<T>;
}

impl<T> IntoJs<T> for crate::error::Result<T> {
    fn js(self) -> JsResult<T> {
        self.map_err(to_js)
    }
}
