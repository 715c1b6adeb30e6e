/// A string-keyed table that remembers first-insertion order, as Python dicts do.
/// fail2ban's results depend on that order (tag substitution walks options in order).
struct OrderedTable<Value> {
    private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    init() {}

    var isEmpty: Bool { keys.isEmpty }

    subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    func contains(_ key: String) -> Bool { storage[key] != nil }

    /// Changes the value for `key` in place, inserting `makeDefault()` first when absent:
    /// reading a value out, changing it and storing it back would copy all of it.
    mutating func modify(_ key: String, default makeDefault: @autoclosure () -> Value, _ body: (inout Value) -> Void) {
        let count = storage.count
        body(&storage[key, default: makeDefault()])
        if storage.count != count { keys.append(key) }
    }

    /// Python's `dict.update`: existing keys keep their place, new ones go last.
    mutating func update(with other: OrderedTable<Value>) {
        for key in other.keys { self[key] = other.storage[key] }
    }

    var entries: [(key: String, value: Value)] {
        keys.compactMap { key in storage[key].map { (key, $0) } }
    }
}

extension OrderedTable: Sendable where Value: Sendable {}
